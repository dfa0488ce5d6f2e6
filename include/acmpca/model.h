/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * The service model as C tables, generated at build time by scripts/gen_model.py from
 * botocore's acm-pca service-2.json plus src/ops/model-overlay.json (values the newer
 * API added). The validator (src/ops/validate.c) walks requests against it. */
#ifndef ACMPCA_MODEL_H
#define ACMPCA_MODEL_H

typedef enum {
    ACMPCA_SH_STRUCTURE,
    ACMPCA_SH_LIST,
    ACMPCA_SH_MAP,
    ACMPCA_SH_STRING,
    ACMPCA_SH_INTEGER,
    ACMPCA_SH_LONG,
    ACMPCA_SH_BOOLEAN,
    ACMPCA_SH_BLOB,
    ACMPCA_SH_TIMESTAMP
} acmpca_shape_type_t;

typedef struct acmpca_member_t {
    const char *name; /* wire name ("CertificateAuthorityArn") */
    int shape;        /* index into acmpca_model_shapes */
    int required;
} acmpca_member_t;

typedef struct acmpca_shape_t {
    const char *name;
    acmpca_shape_type_t type;
    int has_min, has_max;
    long long min, max;             /* length (string, blob, list) or value (numbers) */
    const char *const *enums;       /* NULL-terminated, or NULL */
    const char *pattern;            /* the model's regex text, or NULL */
    const acmpca_member_t *members; /* structure members */
    int n_members;
    int element; /* list member / map value shape, else -1 */
} acmpca_shape_t;

typedef struct acmpca_model_op_t {
    const char *name; /* "CreateCertificateAuthority" */
    int input;        /* shape index, -1 when the operation takes no input */
    int output;       /* shape index, -1 when it returns nothing */
} acmpca_model_op_t;

extern const acmpca_shape_t acmpca_model_shapes[];
extern const int acmpca_model_n_shapes;
extern const acmpca_model_op_t acmpca_model_ops[];
extern const int acmpca_model_n_ops;
/* Exception shape names of the model, NULL-terminated (checked against err.c). */
extern const char *const acmpca_model_errors[];

#endif
