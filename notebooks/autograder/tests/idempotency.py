OK_FORMAT = True

test = {'name': 'idempotency',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.idempotency(checkout, bank)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
