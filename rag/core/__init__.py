"""The lowest stage: records passed between stages, settings, errors, tuning and calibration numbers.

No models and no I/O beyond reading its own data files; every other package
may import this one, and it imports none of them.
"""
