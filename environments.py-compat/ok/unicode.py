environments = {
    'café': 'naïve résumé',
    'ключ': 'значение',
    '鍵': '値',
    'emoji': '🐍🚀 👩‍💻',
    'combining': 'é vs é',
    'rtl': 'مرحبا',
    '😀': ['😀', '🇫🇷'],
    'zero width': 'a​b',
}
café = 'a non-ASCII name'
名前 = 'name'
