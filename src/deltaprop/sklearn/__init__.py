"""deltaprop.sklearn: drop-in replacements for scikit-learn's MLPClassifier and MLPRegressor.

    from deltaprop.sklearn import MLPClassifier   # instead of sklearn.neural_network
    clf = MLPClassifier(hidden_layer_sizes=(100,), random_state=0).fit(X, y)

Same parameters, defaults, attributes and training as scikit-learn's (with the same random_state
they make the same random draws), trained by deltaprop's engine; the fitted ``deltaprop.Network``
is ``network_``. See docs/sklearn.md.
"""

from deltaprop.sklearn._classifier import MLPClassifier
from deltaprop.sklearn._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
