environments = {
	'production': {
		'hosts':	['a',	'b'],
	},
}
x	=	1
tabbed = 'a	b'
