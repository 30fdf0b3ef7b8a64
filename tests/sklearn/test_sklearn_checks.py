"""scikit-learn's estimator checks, all of them, on both estimators; and its tags."""

from __future__ import annotations

import pytest
from sklearn import neural_network
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import parametrize_with_checks

from deltaprop.sklearn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# scikit-learn's own test suite checks its MLPs with max_iter=100 (its INIT_PARAMS), expects no check
# to fail, and so do we; with solver="lbfgs" too.
ESTIMATORS = [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100),
              MLPClassifier(solver="lbfgs", max_iter=100), MLPRegressor(solver="lbfgs", max_iter=100)]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=lambda estimator: {})
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("ours, theirs", [
    (MLPClassifier(), neural_network.MLPClassifier()),
    (MLPRegressor(), neural_network.MLPRegressor()),
])
def test_tags_are_scikit_learns(ours, theirs):
    assert get_tags(ours) == get_tags(theirs)
