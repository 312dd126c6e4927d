"""Estimators: one way of getting an interval each.

* :mod:`.bayes` - Bayesian regression with a modelled lag-to-lag covariance (default)
* :mod:`.resampling` - bootstrap (seeds, ions, moving blocks) and blocked estimates
* :mod:`.blocking` - Flyvbjerg-Petersen block averaging and statistical inefficiency
* :mod:`.baselines` - statsmodels OLS / WLS / GLS, to show why naive error bars are too small
"""
