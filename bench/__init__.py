"""Benchmarks: the community desk against a bare python-telegram-bot, as ratios.

Run ``python -m bench all`` (or ``python -m bench <name>``); see bench/__main__.py.
"""
