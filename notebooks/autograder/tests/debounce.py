OK_FORMAT = True

test = {'name': 'debounce',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.debounce(publish, index)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
