# Settings for the example site, read by dfab.
environments = {
    '__all__': {
        'project_name': 'mysite',
        'user': 'deploy',
        'python': '/usr/bin/python3',
        'packages': ('nginx', 'postgresql-15', 'libpq5'),
        'ports': {80, 443},
        'timeout': 30.5,
        'retries': 3,
        'debug': False,
        'sentry': None,
        'allowed_hosts': [
            'example.com',
            'www.example.com',
        ],
    },
    'production': {
        'hosts': ['web1.example.com', 'web2.example.com'],
        'database': {'name': 'mysite', 'host': 'db.internal', 'port': 5432},
        'media_root': '/srv/mysite/media',
    },
    'staging': {
        'hosts': ['staging.example.com'],
        'debug': True,
        'database': {'name': 'mysite_staging', 'host': 'localhost', 'port': 5432},
    },
}
