/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The API's RevocationReason values and their RFC 5280 §5.3.1 CRLReason codes
 * (PCA-API.md §7.4): one table for the operations (CRL and OCSP reason codes) and the
 * sqlite store (which packs a reason as its index here in the CRL entry table: the order
 * is part of that format). */
#include <string.h>

#include "acmpca/util.h"

static const struct {
    const char *name;
    int code; /* -1: no reasonCode [DECISION] */
} reasons[ACMPCA_REVOCATION_REASONS] = {
    {"UNSPECIFIED", -1},        {"KEY_COMPROMISE", 1},  {"CERTIFICATE_AUTHORITY_COMPROMISE", 2},
    {"AFFILIATION_CHANGED", 3}, {"SUPERSEDED", 4},      {"CESSATION_OF_OPERATION", 5},
    {"PRIVILEGE_WITHDRAWN", 9}, {"A_A_COMPROMISE", 10},
};

int acmpca_revocation_reason_index(const char *reason)
{
    int i;

    for (i = 0; reason && i < ACMPCA_REVOCATION_REASONS; i++) {
        if (!strcmp(reasons[i].name, reason)) {
            return i;
        }
    }
    return -1;
}

const char *acmpca_revocation_reason_name(int index)
{
    return index >= 0 && index < ACMPCA_REVOCATION_REASONS ? reasons[index].name : NULL;
}

int acmpca_revocation_reason_code(const char *reason)
{
    int i = acmpca_revocation_reason_index(reason);

    return i < 0 ? -1 : reasons[i].code;
}
