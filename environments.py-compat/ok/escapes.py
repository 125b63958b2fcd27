simple = '\n\t\\\'\"\a\b\f\v\r'
octal = '\0 \7 \12 \101 \777 \1234'
hexes = '\x41\x7f\xff\xe9'
unicode = '\u00e9\u2014\U0001F600\U00000041'
unknown = '\d\w\s\q\%\ \8\9'
continued = 'one \
two'
bytes_escapes = b'\x00\xff\n\t\101\777\u0041\N{BULLET}\d'
raw_keeps = r'\n\x41\u00e9'
dq = "it's \"quoted\""
