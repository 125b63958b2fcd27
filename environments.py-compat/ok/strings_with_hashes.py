a = '# not a comment'
b = "a ; b"
c = '''
# inside triple
'''
d = '\\'  # ends in a backslash
