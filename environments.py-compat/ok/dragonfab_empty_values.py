# A dragonfab-style environments.py as real projects write it: optional keys left as '' or
# None, ports and timeouts as numeric strings, and '' overriding a value from __all__.
environments = {
    '__all__': {
        'user': 'deploy',
        'db_port': '5433',
        'db_host': 'db.internal',
        'db_password': '',
        'key_filename': None,
        'timeout': '20',
        'wheel': False,
        'wheelserver': '',
        'package_dir': '',
        'site_title': '',
    },
    'production': {
        'hosts': ['web1.example.com', 'web2.example.com'],
        'db_port': '',
        'db_host': '',
        'debconf': 'debconf/production.dat',
        'port': '2222',
    },
    'staging': {
        'hosts': ['staging.example.com'],
        'db_port': 5432,
        'db_name': None,
        'lxc': '',
        'remote_path': '',
        'wheel': True,
        'wheelserver': 'https://pypi.example.com/simple/',
    },
    'dev': {
        'hosts': [],
        'user': '',
        'timeout': None,
        'collectstatic': None,
        'build_commands': ['make static'],
    },
}
