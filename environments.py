# dfab packages itself: `make deb` runs `dfab local deb.build`.
environments = {
    'local': {
        'package_dir': 'target/deb/',
        'wheel': False,
        'build_commands': [
            'cargo build --release --locked',
            'mkdir -p target/dist/completions',
            'target/release/dfab --man > target/dist/dfab.1',
            'target/release/dfab --completions bash > target/dist/completions/dfab',
            'target/release/dfab --completions zsh > target/dist/completions/_dfab',
            'target/release/dfab --completions fish > target/dist/completions/dfab.fish',
        ],
    },
}
