"""Forecasting monitors: predict a threshold breach before it happens."""
