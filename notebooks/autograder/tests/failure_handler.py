OK_FORMAT = True

test = {'name': 'failure_handler',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.failure_handler(payment, failures, cards)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
