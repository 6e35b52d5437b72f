OK_FORMAT = True

test = {'name': 'rate_limit',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.rate_limit(alert, pager)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
