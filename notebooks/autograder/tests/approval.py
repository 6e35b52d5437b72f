OK_FORMAT = True

test = {'name': 'approval',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.approval(expense, payroll)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
