"""The pure rule engine, rule catalogue and domain matcher.

Shared by the reference server, lint and offline policy tests; imports nothing else of certgov.

    catalogue   the rule catalogue of contract §4.2 (CATALOGUE, BY_ACTION, the enumerations)
    domains     §4.1 patterns and names: pattern_problems, name_problems, name_matches, matches_any
    names       characters no object name may hold: name_character_problem
    validation  policy bodies: policy_problems (every problem with its JSON path),
                normalise_policy_values (numbers as strings, as the API answers them)
    request     §4.3 requests: CertRequest, parse_request (fields or CSR), request_to_json
    csr         reading a PEM CSR into request fields (used by parse_request)
    engine      one check per rule, the merge, evaluate() -> Evaluation; PolicyInput.from_json
    index       PolicyIndex: policies by the names their patterns match, to narrow evaluate()
"""
