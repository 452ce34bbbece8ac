import pytest

from dimcurse.errors import DimcurseError
from dimcurse.parsing import parse_float, parse_int_list, parse_name_list, parse_seeds


def test_int_list_and_seeds():
    assert parse_int_list("10, 100,1000", "--dims") == (10, 100, 1000)
    assert parse_seeds("5") == (0, 1, 2, 3, 4)
    assert parse_seeds("0,3,7") == (0, 3, 7)
    assert parse_name_list("L2,cosine", "--metric") == ("l2", "cosine")


@pytest.mark.parametrize("text", ["", "1,,2", "a", "1.5", "0", "-3", "10,10"])
def test_bad_int_lists_name_the_option(text):
    with pytest.raises(DimcurseError) as err:
        parse_int_list(text, "--dims")
    assert str(err.value).startswith("--dims: ")


@pytest.mark.parametrize("text", ["0", "-1", "x", "1,1", "1,-2", ""])
def test_bad_seeds(text):
    with pytest.raises(DimcurseError):
        parse_seeds(text)


@pytest.mark.parametrize("text", ["nan", "inf", "abc"])
def test_floats_must_be_finite(text):
    with pytest.raises(DimcurseError):
        parse_float(text, "--lr")
    assert parse_float("2.5", "--lr", positive=True) == 2.5


@pytest.mark.parametrize("text", ["1001", "99999999999999999999", "1" + "0" * 40])
def test_too_many_seeds_are_refused_before_any_list_is_built(text):
    with pytest.raises(DimcurseError, match="at most 1000"):
        parse_seeds(text)
