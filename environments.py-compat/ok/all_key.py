"""Environments for the example project; __all__ holds shared settings."""

__all__ = ['environments']

environments = {
    '__all__': {
        'project': 'example',
        'dba': 'postgres',
        'hosts': [],
    },
    'production': {'hosts': ['web1.example.com', 'web2.example.com'], 'workers': 4},
    'staging': {'hosts': ['staging.example.com'], 'debug': True, 'workers': None},
}
