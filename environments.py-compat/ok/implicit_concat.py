a = 'one' 'two'
b = ('multi'
     'line'
     "mixed quotes")
c = b'by' b"tes"
d = r'\raw' '\n cooked'
e = 'a' \
    'b'
f = ['x' 'y', 'z']
g = u'u' 'plain'
h = rb'\x' B'y'
