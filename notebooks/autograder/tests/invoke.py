OK_FORMAT = True

test = {'name': 'invoke',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.invoke(invoice, vat, office)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
