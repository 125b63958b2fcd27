a = 1
b = {'key': 'value
}
