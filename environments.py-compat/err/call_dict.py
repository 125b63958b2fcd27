environments = dict(production={})
