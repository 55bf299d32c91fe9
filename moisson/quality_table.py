"""The quality thresholds that move per language and per script: written by bench/quality_thresholds.py, not by hand.

Derived from the good text of the tune half of bench/filter_sets.py (reference documents/origins per
language: ar 2/1, bg 5/1, cs 2/1, da 4/1, de 56/7, el 10/3, en 297/9, es 34/4, et 4/1, fi 3/1, fr 42/6, ga 2/1, he 5/1, hr 2/1, hu 3/1, id 4/2, it 49/6, ja 9/5, ko 1/1, lt 5/1, lv 5/1, mt 4/1, nl 4/1, pl 14/3, pt 11/4, ro 3/1, ru 16/4, sk 4/1, sl 2/1, sv 4/1, tr 1/1, uk 2/1, vi 1/1, zh 17/4). Re-run `.venv/bin/python bench/quality_thresholds.py --write` after changing the rules
or the reference sets, and report with bench/filters.py on the other half.
"""

LANGUAGE_THRESHOLDS = {'de': {'max_mean_word_length': 12.446},
 'es': {'max_symbol_word_ratio': 0.108, 'min_mean_word_length': 2.934},
 'fr': {'max_mean_word_length': 10.416, 'max_symbol_word_ratio': 0.105},
 'it': {'max_mean_word_length': 10.284,
        'max_symbol_word_ratio': 0.124,
        'max_top_ngram_char_fraction': {2: 0.289, 3: 0.26, 4: 0.232}},
 'pl': {'max_chars_without_terminal_punctuation': 0.748,
        'max_digit_ratio': 0.261,
        'max_duplicate_line_char_fraction': 0.309,
        'max_duplicate_line_fraction': 0.48,
        'max_mean_word_length': 12.406,
        'max_top_ngram_char_fraction': {2: 0.32, 3: 0.288, 4: 0.256},
        'min_alpha_word_fraction': 0.783},
 'ru': {'max_chars_without_terminal_punctuation': 1.0,
        'max_digit_ratio': 0.395,
        'max_duplicate_ngram_char_fraction': {5: 0.196, 6: 0.186, 7: 0.165, 8: 0.155, 9: 0.145, 10: 0.134},
        'max_mean_word_length': 12.776,
        'max_symbol_word_ratio': 0.125,
        'max_top_ngram_char_fraction': {2: 0.236, 3: 0.213, 4: 0.189},
        'min_alpha_word_fraction': 0.761},
 'zh': {'max_chars_without_terminal_punctuation': 1.0,
        'max_digit_ratio': 0.4,
        'max_duplicate_ngram_char_fraction': {5: 0.304, 6: 0.288, 7: 0.256, 8: 0.24, 9: 0.224, 10: 0.208},
        'max_top_ngram_char_fraction': {2: 0.266, 3: 0.239, 4: 0.213},
        'min_alpha_word_fraction': 0.768}}

SCRIPT_THRESHOLDS = {'Cyrl': {'max_chars_without_terminal_punctuation': 0.79,
          'max_digit_ratio': 0.369,
          'max_duplicate_ngram_char_fraction': {5: 0.202, 6: 0.191, 7: 0.17, 8: 0.16, 9: 0.149, 10: 0.138},
          'max_mean_word_length': 12.643,
          'max_symbol_word_ratio': 0.103,
          'max_top_ngram_char_fraction': {2: 0.284, 3: 0.256, 4: 0.227},
          'min_alpha_word_fraction': 0.765},
 'Hani': {'max_chars_without_terminal_punctuation': 1.0,
          'max_digit_ratio': 0.4,
          'max_duplicate_ngram_char_fraction': {5: 0.304, 6: 0.288, 7: 0.256, 8: 0.24, 9: 0.224, 10: 0.208},
          'max_top_ngram_char_fraction': {2: 0.266, 3: 0.239, 4: 0.213},
          'min_alpha_word_fraction': 0.768}}
