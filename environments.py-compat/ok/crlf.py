# CRLF file
environments = {
    'production': {
        'hosts': ['a.example.com'],
    },
}
multiline = '''line one
line two
'''
cont = 1 + \
  2j
