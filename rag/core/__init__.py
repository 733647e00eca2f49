"""The lowest stage: records passed between stages, settings, tuning and calibration numbers, errors; no models, no I/O beyond reading its own data files.

Every other package may import this one; it imports none of them."""
