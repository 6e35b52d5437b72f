OK_FORMAT = True

test = {'name': 'dedupe',
 'points': 1,
 'suites': [{'cases': [{'code': ">>> checks.dedupe(place_order, fulfil, warehouse)\n'passed'",
                        'hidden': False,
                        'locked': False}],
             'scored': True,
             'setup': '',
             'teardown': '',
             'type': 'doctest'}]}
