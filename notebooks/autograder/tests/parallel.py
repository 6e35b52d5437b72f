OK_FORMAT = True

test = {'name': 'parallel',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.parallel(best_quote, suppliers)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
