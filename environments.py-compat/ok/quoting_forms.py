a = 'single'
b = "double"
c = '''triple single
spanning lines with 'quotes' and "doubles"'''
d = """triple double
with a "quote" inside"""
e = r'raw \n stays'
f = R"RAW \t too"
g = u'unicode prefix'
h = U"upper u"
i = b'bytes'
j = B"BYTES"
k = br'raw\x00bytes'
l = rb"raw bytes"
m = Rb'mixed'
n = bR"mixed"
o = BR'upper'
p = rB"upper"
q = r'''raw triple \\'''
s = ''
t = ""
u = """"quoted" start"""
v = '''ends with quote"'''
