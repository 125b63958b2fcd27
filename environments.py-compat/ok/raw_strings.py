path = r'C:\new\table'
regex = r'^\d+\.\d*$'
quote = r'it\'s'
dq = r"say \"hi\""
triple = r"""a\
b"""
bytes_raw = rb'\d\x00'
