"""Module docstring.

With several lines.
"""
'another bare string'
environments = {'a': 1}
"""A string between assignments is evaluated and discarded."""
r'''raw bare'''
b'bytes bare'
'concat' 'bare'
