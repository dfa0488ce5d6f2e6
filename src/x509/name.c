/* Licensed under the Apache License, Version 2.0 (see LICENSE).
 * Names: X509_NAME and GENERAL_NAME from the API's JSON shapes, and RFC 2253 strings. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "acmpca/json.h"
#include "acmpca/x509.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static apr_status_t name_cleanup(void *data)
{
    X509_NAME_free(data);
    return APR_SUCCESS;
}

static apr_status_t gn_cleanup(void *data)
{
    GENERAL_NAME_free(data);
    return APR_SUCCESS;
}

static void *own(apr_pool_t *p, void *obj, apr_status_t (*cleanup)(void *))
{
    if (obj) {
        apr_pool_cleanup_register(p, obj, cleanup, apr_pool_cleanup_null);
    }
    return obj;
}

/* ******************************************************************************** */
/* ASN1Subject -> X509_NAME                                                          */
/* ******************************************************************************** */

/* The standard attributes in RDN order, and their string type (PCA-API.md §7.1 [DECISION];
 * X.520 and RFC 5280 appendix A require PrintableString for these three). */
typedef struct {
    const char *member;
    int nid;
    int printable;
} subject_attr_t;

static const subject_attr_t subject_attrs[] = {
    {"Country", NID_countryName, 1},
    {"Organization", NID_organizationName, 0},
    {"OrganizationalUnit", NID_organizationalUnitName, 0},
    {"DistinguishedNameQualifier", NID_dnQualifier, 1},
    {"State", NID_stateOrProvinceName, 0},
    {"CommonName", NID_commonName, 0},
    {"SerialNumber", NID_serialNumber, 1},
    {"Locality", NID_localityName, 0},
    {"Title", NID_title, 0},
    {"Surname", NID_surname, 0},
    {"GivenName", NID_givenName, 0},
    {"Initials", NID_initials, 0},
    {"Pseudonym", NID_pseudonym, 0},
    {"GenerationQualifier", NID_generationQualifier, 0},
};

/* X.680 §41.4 PrintableString: letters, digits, space and '()+,-./:=? */
static int is_printable(const char *s)
{
    for (; *s; s++) {
        if (!apr_isalnum(*s) && !strchr(" '()+,-./:=?", *s)) {
            return 0;
        }
    }
    return 1;
}

static int is_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    long len = (long)strlen(s);
    unsigned long c;
    int n;

    while (len > 0) {
        /* UTF8_getc rejects truncated sequences and overlong forms. */
        if ((n = UTF8_getc(u, (int)(len > 6 ? 6 : len), &c)) <= 0) {
            return 0;
        }
        u += n;
        len -= n;
    }
    return 1;
}

/* Append value as a new single-valued RDN. what names the attribute in messages. */
static apr_status_t add_entry(X509_NAME *name, const ASN1_OBJECT *obj, const char *value,
                              int printable, const char *what, acmpca_err_t *err, apr_pool_t *p)
{
    int type = printable ? V_ASN1_PRINTABLESTRING : V_ASN1_UTF8STRING;

    if (printable && !is_printable(value)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "Subject attribute %s must be a PrintableString.", what);
    }
    if (!printable && !is_utf8(value)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "Subject attribute %s is not valid UTF-8.", what);
    }
    if (!X509_NAME_add_entry_by_OBJ(name, obj, type, (const unsigned char *)value, -1, -1, 0)) {
        return acmpca_err_internal(err, APR_ENOMEM, "X509_NAME_add_entry_by_OBJ");
    }
    return APR_SUCCESS;
}

/* A string member that is present and not empty: an empty value adds no attribute. */
static const char *attr_value(const cJSON *subject, const char *member)
{
    const char *v = acmpca_json_str(subject, member);

    return (v && *v) ? v : NULL;
}

static apr_status_t add_standard(X509_NAME *name, const cJSON *subject, acmpca_err_t *err,
                                 apr_pool_t *p)
{
    apr_status_t rv;
    size_t i;

    for (i = 0; i < COUNT(subject_attrs); i++) {
        const subject_attr_t *a = &subject_attrs[i];
        const char *v = attr_value(subject, a->member);

        if (v
            && (rv = add_entry(name, OBJ_nid2obj(a->nid), v, a->printable, a->member, err, p))
                   != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static int printable_nid(int nid)
{
    size_t i;

    for (i = 0; nid != NID_undef && i < COUNT(subject_attrs); i++) {
        if (subject_attrs[i].nid == nid) {
            return subject_attrs[i].printable;
        }
    }
    return 0;
}

/* CustomAttributes in their order; a standard attribute named by its OID keeps its
 * string type, anything else is a UTF8String. */
static apr_status_t add_custom(X509_NAME *name, const cJSON *list, acmpca_err_t *err, apr_pool_t *p)
{
    const cJSON *item;
    apr_status_t rv;

    if (!cJSON_IsArray(list)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "CustomAttributes must be a list.");
    }
    cJSON_ArrayForEach(item, list)
    {
        const char *oid = acmpca_json_str(item, "ObjectIdentifier");
        const char *value = acmpca_json_str(item, "Value");
        ASN1_OBJECT *obj;

        if (!oid || !value || !*value) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                                  "Each custom attribute needs an ObjectIdentifier and a Value.");
        }
        if (!(obj = OBJ_txt2obj(oid, 1))) {
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                                  "%s is not a valid object identifier.", oid);
        }
        rv = add_entry(name, obj, value, printable_nid(OBJ_obj2nid(obj)), oid, err, p);
        ASN1_OBJECT_free(obj);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t acmpca_name_from_json(X509_NAME **pname, const cJSON *subject, acmpca_err_t *err,
                                   apr_pool_t *p)
{
    const cJSON *custom = cJSON_GetObjectItemCaseSensitive(subject, ACMPCA_K_CUSTOM_ATTRIBUTES);
    X509_NAME *name;
    apr_status_t rv;
    size_t i;

    *pname = NULL;
    if (!cJSON_IsObject(subject)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "The subject must be an object.");
    }
    for (i = 0; custom && i < COUNT(subject_attrs); i++) {
        if (cJSON_GetObjectItemCaseSensitive(subject, subject_attrs[i].member)) {
            /* [AWS] API_ASN1Subject: CustomAttributes replace the standard attributes. */
            return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                                  "CustomAttributes cannot be combined with standard subject "
                                  "attributes such as %s.",
                                  subject_attrs[i].member);
        }
    }
    if (!(name = own(p, X509_NAME_new(), name_cleanup))) {
        return acmpca_err_internal(err, APR_ENOMEM, "X509_NAME_new");
    }
    rv = custom ? add_custom(name, custom, err, p) : add_standard(name, subject, err, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (X509_NAME_entry_count(name) == 0) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "The subject must contain at least one attribute.");
    }
    *pname = name;
    return APR_SUCCESS;
}

/* ******************************************************************************** */
/* RFC 2253 strings                                                                  */
/* ******************************************************************************** */

/* AWS renders subjects (audit reports) as Java's X500Principal.getName(RFC2253) does:
 * keywords only for the attributes RFC 2253 §2.3 names, every other attribute as its
 * dotted OID with the hex of its DER value ("2.5.4.5=#13023432"), RDNs last to first. */
static const struct {
    int nid;
    const char *keyword;
} rfc2253_keywords[] = {
    {NID_commonName, "CN"},
    {NID_localityName, "L"},
    {NID_stateOrProvinceName, "ST"},
    {NID_organizationName, "O"},
    {NID_organizationalUnitName, "OU"},
    {NID_countryName, "C"},
    {NID_streetAddress, "STREET"},
    {NID_domainComponent, "DC"},
    {NID_userId, "UID"},
};

static const char *rfc2253_keyword(int nid)
{
    size_t i;

    for (i = 0; i < COUNT(rfc2253_keywords); i++) {
        if (rfc2253_keywords[i].nid == nid) {
            return rfc2253_keywords[i].keyword;
        }
    }
    return NULL;
}

/* RFC 2253 §2.4 escaping as Java applies it: the specials anywhere, NUL as \00, a
 * leading or trailing space. */
static const char *rfc2253_escape(const unsigned char *s, int len, apr_pool_t *p)
{
    char *out = apr_palloc(p, (apr_size_t)len * 3 + 1), *o = out;
    int i;

    for (i = 0; i < len; i++) {
        if (s[i] == '\0') {
            memcpy(o, "\\00", 3);
            o += 3;
            continue;
        }
        if (strchr(",=+<>#;\"\\", s[i]) || (s[i] == ' ' && (i == 0 || i == len - 1))) {
            *o++ = '\\';
        }
        *o++ = (char)s[i];
    }
    *o = '\0';
    return out;
}

static const char *der_hex(const ASN1_STRING *value, apr_pool_t *p)
{
    ASN1_TYPE *t = ASN1_TYPE_new();
    unsigned char *der = NULL;
    char *out = NULL;
    int i, n = -1;

    if (t && ASN1_TYPE_set1(t, ASN1_STRING_type(value), value)) {
        n = i2d_ASN1_TYPE(t, &der);
    }
    if (n > 0) {
        out = apr_palloc(p, (apr_size_t)n * 2 + 2);
        out[0] = '#';
        for (i = 0; i < n; i++) {
            apr_snprintf(out + 1 + i * 2, 3, "%02x", der[i]);
        }
    }
    OPENSSL_free(der);
    ASN1_TYPE_free(t);
    return out ? out : "#";
}

static const char *rfc2253_ava(const X509_NAME_ENTRY *ne, apr_pool_t *p)
{
    const ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(ne);
    const ASN1_STRING *value = X509_NAME_ENTRY_get_data(ne);
    const char *kw = rfc2253_keyword(OBJ_obj2nid(obj));
    unsigned char *utf8 = NULL;
    const char *s;
    char oid[128];
    int n;

    if (kw && (n = ASN1_STRING_to_UTF8(&utf8, value)) >= 0) {
        s = apr_pstrcat(p, kw, "=", rfc2253_escape(utf8, n, p), NULL);
        OPENSSL_free(utf8);
        return s;
    }
    if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0) {
        apr_cpystrn(oid, "0", sizeof(oid));
    }
    return apr_pstrcat(p, oid, "=", der_hex(value, p), NULL);
}

const char *acmpca_name_rfc2253(const X509_NAME *name, apr_pool_t *p)
{
    const char *out = "";
    int i, n = name ? X509_NAME_entry_count(name) : 0, last_set = -1;

    for (i = n - 1; i >= 0; i--) {
        const X509_NAME_ENTRY *ne = X509_NAME_get_entry(name, i);
        int set = X509_NAME_ENTRY_set(ne);
        const char *sep = (i == n - 1) ? "" : (set == last_set ? "+" : ",");

        out = apr_pstrcat(p, out, sep, rfc2253_ava(ne, p), NULL);
        last_set = set;
    }
    return out;
}

/* ******************************************************************************** */
/* GeneralName -> GENERAL_NAME                                                       */
/* ******************************************************************************** */

static const char *const gn_members[] = {
    "OtherName",     "Rfc822Name",   "DnsName",
    "DirectoryName", "EdiPartyName", "UniformResourceIdentifier",
    "IpAddress",     "RegisteredId",
};

static ASN1_STRING *new_string(int type, const char *s)
{
    ASN1_STRING *str = ASN1_STRING_type_new(type);

    if (str && !ASN1_STRING_set(str, s, -1)) {
        ASN1_STRING_free(str);
        str = NULL;
    }
    return str;
}

static int is_ascii(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s > 0x7f) {
            return 0;
        }
    }
    return 1;
}

/* A DNS label of the preferred name syntax (RFC 1034 §3.5), with '_' tolerated as private
 * names often carry it: 1..63 letters, digits, '-' and '_', no hyphen at either end. */
static int dns_label_ok(const char *s, size_t n)
{
    size_t i;

    if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
              || c == '_')) {
            return 0;
        }
    }
    return 1;
}

static int dns_name_ok(const char *s, size_t n)
{
    const char *dot;

    if (n >= 2 && s[0] == '*' && s[1] == '.') { /* a wildcard, leftmost label only */
        s += 2;
        n -= 2;
    }
    if (n < 1 || n > 253) {
        return 0;
    }
    while ((dot = memchr(s, '.', n))) {
        if (!dns_label_ok(s, (size_t)(dot - s))) {
            return 0;
        }
        n -= (size_t)(dot - s) + 1;
        s = dot + 1;
    }
    return dns_label_ok(s, n);
}

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int printable_ascii(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            return 0;
        }
    }
    return n > 0;
}

int acmpca_ia5_name_ok(int type, const char *s, size_t n)
{
    const char *at;

    switch (type) {
    case GEN_DNS:
        return dns_name_ok(s, n);
    case GEN_EMAIL:
        /* local-part@domain (RFC 5280 §4.2.1.6, RFC 5321 §4.1.2), both non-empty */
        at = memchr(s, '@', n);
        return printable_ascii(s, n) && at && at > s && at < s + n - 1;
    case GEN_URI: {
        /* scheme ":" hier-part (RFC 3986 §3); scheme = ALPHA *( ALPHA / DIGIT / + - . ) */
        size_t i = 0;
        if (!printable_ascii(s, n) || !is_alpha(s[0])) {
            return 0;
        }
        while (i < n
               && (is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-'
                   || s[i] == '.')) {
            i++;
        }
        return i < n - 1 && s[i] == ':';
    }
    default:
        return 1;
    }
}

/* Rfc822Name, DnsName and UniformResourceIdentifier are IA5String (RFC 5280 §4.2.1.6). */
static apr_status_t gn_ia5(GENERAL_NAME *gn, int type, const char *member, const cJSON *v,
                           acmpca_err_t *err, apr_pool_t *p)
{
    ASN1_IA5STRING *s;

    if (!cJSON_IsString(v) || !is_ascii(v->valuestring)) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "%s must be an ASCII string.",
                              member);
    }
    if (!acmpca_ia5_name_ok(type, v->valuestring, strlen(v->valuestring))) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p, "%s %s is not well-formed.", member,
                              v->valuestring);
    }
    if (!(s = new_string(V_ASN1_IA5STRING, v->valuestring))) {
        return acmpca_err_internal(err, APR_ENOMEM, "ASN1_STRING_set");
    }
    GENERAL_NAME_set0_value(gn, type, s);
    return APR_SUCCESS;
}

static apr_status_t gn_ip(GENERAL_NAME *gn, const cJSON *v, acmpca_err_t *err, apr_pool_t *p)
{
    ASN1_OCTET_STRING *ip = cJSON_IsString(v) ? a2i_IPADDRESS(v->valuestring) : NULL;

    if (!ip) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "IpAddress must be an IPv4 or IPv6 address.");
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, ip);
    return APR_SUCCESS;
}

static apr_status_t gn_rid(GENERAL_NAME *gn, const cJSON *v, acmpca_err_t *err, apr_pool_t *p)
{
    ASN1_OBJECT *obj = cJSON_IsString(v) ? OBJ_txt2obj(v->valuestring, 1) : NULL;

    if (!obj) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "RegisteredId must be an object identifier.");
    }
    GENERAL_NAME_set0_value(gn, GEN_RID, obj);
    return APR_SUCCESS;
}

static apr_status_t gn_dirname(GENERAL_NAME *gn, const cJSON *v, acmpca_err_t *err, apr_pool_t *p)
{
    X509_NAME *name, *dup;
    apr_status_t rv;

    if ((rv = acmpca_name_from_json(&name, v, err, p)) != APR_SUCCESS) {
        return rv;
    }
    if (!(dup = X509_NAME_dup(name))) {
        return acmpca_err_internal(err, APR_ENOMEM, "X509_NAME_dup");
    }
    GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dup);
    return APR_SUCCESS;
}

/* OtherName: the value is carried as a UTF8String. */
static apr_status_t gn_other(GENERAL_NAME *gn, const cJSON *v, acmpca_err_t *err, apr_pool_t *p)
{
    const char *oid = acmpca_json_str(v, "TypeId"), *value = acmpca_json_str(v, "Value");
    ASN1_OBJECT *obj = oid ? OBJ_txt2obj(oid, 1) : NULL;
    ASN1_UTF8STRING *s = NULL;
    ASN1_TYPE *t = NULL;

    if (!obj || !value || !is_utf8(value)) {
        ASN1_OBJECT_free(obj);
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "OtherName needs an object identifier TypeId and a UTF-8 Value.");
    }
    if (!(s = new_string(V_ASN1_UTF8STRING, value)) || !(t = ASN1_TYPE_new())) {
        ASN1_STRING_free(s);
        ASN1_OBJECT_free(obj);
        return acmpca_err_internal(err, APR_ENOMEM, "ASN1_TYPE_new");
    }
    ASN1_TYPE_set(t, V_ASN1_UTF8STRING, s);
    if (!GENERAL_NAME_set0_othername(gn, obj, t)) {
        ASN1_TYPE_free(t);
        ASN1_OBJECT_free(obj);
        return acmpca_err_internal(err, APR_ENOMEM, "GENERAL_NAME_set0_othername");
    }
    return APR_SUCCESS;
}

/* EdiPartyName: PartyName and NameAssigner as UTF8String DirectoryStrings. */
static apr_status_t gn_edi(GENERAL_NAME *gn, const cJSON *v, acmpca_err_t *err, apr_pool_t *p)
{
    const char *party = acmpca_json_str(v, "PartyName");
    const char *assigner = acmpca_json_str(v, "NameAssigner");
    EDIPARTYNAME *edi;

    if (!party || !is_utf8(party) || (assigner && !is_utf8(assigner))) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "EdiPartyName needs a UTF-8 PartyName.");
    }
    if (!(edi = EDIPARTYNAME_new())) {
        return acmpca_err_internal(err, APR_ENOMEM, "EDIPARTYNAME_new");
    }
    GENERAL_NAME_set0_value(gn, GEN_EDIPARTY, edi);
    /* EDIPARTYNAME_new already made an empty (mandatory) partyName. */
    ASN1_STRING_free(edi->partyName);
    ASN1_STRING_free(edi->nameAssigner);
    edi->partyName = new_string(V_ASN1_UTF8STRING, party);
    edi->nameAssigner = assigner ? new_string(V_ASN1_UTF8STRING, assigner) : NULL;
    if (!edi->partyName || (assigner && !edi->nameAssigner)) {
        return acmpca_err_internal(err, APR_ENOMEM, "ASN1_STRING_set");
    }
    return APR_SUCCESS;
}

static apr_status_t gn_fill(GENERAL_NAME *gn, const char *member, const cJSON *v, acmpca_err_t *err,
                            apr_pool_t *p)
{
    if (!strcmp(member, "Rfc822Name")) {
        return gn_ia5(gn, GEN_EMAIL, member, v, err, p);
    }
    if (!strcmp(member, "DnsName")) {
        return gn_ia5(gn, GEN_DNS, member, v, err, p);
    }
    if (!strcmp(member, "UniformResourceIdentifier")) {
        return gn_ia5(gn, GEN_URI, member, v, err, p);
    }
    if (!strcmp(member, "IpAddress")) {
        return gn_ip(gn, v, err, p);
    }
    if (!strcmp(member, "RegisteredId")) {
        return gn_rid(gn, v, err, p);
    }
    if (!strcmp(member, "DirectoryName")) {
        return gn_dirname(gn, v, err, p);
    }
    if (!strcmp(member, "OtherName")) {
        return gn_other(gn, v, err, p);
    }
    return gn_edi(gn, v, err, p);
}

apr_status_t acmpca_general_name_from_json(GENERAL_NAME **pgn, const cJSON *json, acmpca_err_t *err,
                                           apr_pool_t *p)
{
    const char *member = NULL;
    const cJSON *value = NULL;
    GENERAL_NAME *gn;
    apr_status_t rv;
    size_t i, n = 0;

    *pgn = NULL;
    for (i = 0; cJSON_IsObject(json) && i < COUNT(gn_members); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(json, gn_members[i]);

        if (v && !cJSON_IsNull(v)) {
            member = gn_members[i];
            value = v;
            n++;
        }
    }
    if (n != 1) {
        return acmpca_err_set(err, ACMPCA_ERR_INVALID_ARGS, p,
                              "A GeneralName must specify exactly one name.");
    }
    if (!(gn = own(p, GENERAL_NAME_new(), gn_cleanup))) {
        return acmpca_err_internal(err, APR_ENOMEM, "GENERAL_NAME_new");
    }
    if ((rv = gn_fill(gn, member, value, err, p)) != APR_SUCCESS) {
        return rv;
    }
    *pgn = gn;
    return APR_SUCCESS;
}
