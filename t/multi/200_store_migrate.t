# Moving a host from sqlite to Redis and back (issue 6): scripts/store-migrate copies every
# record, verified by a round trip.
#  - host A (a private httpd on sqlite) is filled through boto3: root and subordinate CAs,
#    issued and revoked certificates, tags, a policy, permissions, an IdempotencyToken, an
#    audit report, a CRL, a CA deleted and in its restoration period;
#  - A stops; store-migrate copies its sqlite store into the private redis-server (db 4),
#    then that Redis store into a fresh sqlite file: the dumps of the original and the
#    round-tripped file are the same, line for line, and the new file is owned and moded
#    as the module makes its own;
#  - host B (the same key-encryption key) serves the Redis store: everything A answered
#    reads the same, the IdempotencyToken still yields its certificate, issuance goes on
#    with fresh serials, a new CA lists after the old ones, the CRL number goes on, the
#    deleted CA can be restored;
#  - a destination that holds records is refused without --force.
# Skips without ACMPCA_TEST_REDIS (scripts/redis-server.sh run sets it). Every wait is
# bounded; both servers are stopped when the test exits (ACMPCA::Private).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(http_get cdp_url crl_text crl_number crl_entries wait_for);
use ACMPCA::Private;
use File::Spec::Functions qw(catfile);

plan skip_all => 'no private redis-server (make api-redis starts one)' unless $ENV{ACMPCA_TEST_REDIS};
plan tests => 21, need_module('acmpca');

my $TOP = "$FindBin::Bin/../..";
my $MIGRATE = "$TOP/scripts/store-migrate";
my $TOOL = "$TOP/build/acmpca-store";
# db 4 of the private server: the suite's vhosts use 0 and 1, t/multi/100 uses 3.
(my $redis = $ENV{ACMPCA_TEST_REDIS}) =~ s{/\d+$}{/4};
run_cmd(['redis-cli', '-u', $redis, 'FLUSHDB'], timeout => 30);

sub migrate {
    run_cmd([$MIGRATE, @_], timeout => 300, env => { ACMPCA_STORE_TOOL => $TOOL });
}

sub dump_of {
    my $r = run_cmd([$TOOL, 'dump', $_[0]], timeout => 300);
    $r->{rc} == 0 ? $r->{out} : do { diag("dump of $_[0]: $r->{err}"); undef };
}

my $extra = "ACMPCACrlRefreshInterval 3600\nACMPCAAuditReportInterval 0";
my $A = ACMPCA::Private->new(name => 'migA', extra => $extra);
my $B = ACMPCA::Private->new(name => 'migB', store => $redis, extra => $extra);
ACMPCA::Private::_write($B->kek_file, read_file($A->kek_file));
ok($A->start, 'host A serves a sqlite store') or BAIL_OUT('host A did not start');

# ---- 1. Fill A through boto3
my $tag = uniq('mig');
my @csrs = map { openssl_key_csr(subj => "/CN=leaf$_.migrate.example")->{csr} } 1 .. 4;
my $csr_py = join ', ', map { my $c = $_; $c =~ s/\n/\\n/g; "\"$c\"" } @csrs;
my $fill = $A->with(sub { boto3_script(<<PY) });
TAG = "$tag"
CSRS = [$csr_py]
rc = {"CrlConfiguration": {"Enabled": True, "ExpirationInDays": 7, "S3BucketName": "mig-crl-" + TAG},
      "OcspConfiguration": {"Enabled": True}}
W = {"Delay": 1, "MaxAttempts": 10}
def ca(kind, cn, **kw):
    return pca.create_certificate_authority(
        CertificateAuthorityConfiguration={"KeyAlgorithm": "EC_prime256v1", "SigningAlgorithm": "SHA256WITHECDSA",
                                           "Subject": {"CommonName": cn, "Organization": "mod_acmpca migration"}},
        CertificateAuthorityType=kind, IdempotencyToken=TAG + cn[:20], **kw)["CertificateAuthorityArn"]
def issue(ca_arn, csr, template, validity, **kw):
    arn = pca.issue_certificate(CertificateAuthorityArn=ca_arn, Csr=csr.encode(), SigningAlgorithm="SHA256WITHECDSA",
                                TemplateArn="arn:aws:acm-pca:::template/" + template, Validity=validity, **kw)["CertificateArn"]
    pca.get_waiter("certificate_issued").wait(CertificateAuthorityArn=ca_arn, CertificateArn=arn, WaiterConfig=W)
    return arn
root = ca("ROOT", "Mig Root", RevocationConfiguration=rc, Tags=[{"Key": "env", "Value": "migration"}])
pca.get_waiter("certificate_authority_csr_created").wait(CertificateAuthorityArn=root, WaiterConfig=W)
root_cert = issue(root, pca.get_certificate_authority_csr(CertificateAuthorityArn=root)["Csr"],
                  "RootCACertificate/V1", {"Type": "YEARS", "Value": 5})
pca.import_certificate_authority_certificate(CertificateAuthorityArn=root,
    Certificate=pca.get_certificate(CertificateAuthorityArn=root, CertificateArn=root_cert)["Certificate"].encode())
sub = ca("SUBORDINATE", "Mig Sub", RevocationConfiguration=rc)
pca.get_waiter("certificate_authority_csr_created").wait(CertificateAuthorityArn=sub, WaiterConfig=W)
sub_cert = issue(root, pca.get_certificate_authority_csr(CertificateAuthorityArn=sub)["Csr"],
                 "SubordinateCACertificate_PathLen0/V1", {"Type": "DAYS", "Value": 365})
got = pca.get_certificate(CertificateAuthorityArn=root, CertificateArn=sub_cert)
pca.import_certificate_authority_certificate(CertificateAuthorityArn=sub, Certificate=got["Certificate"].encode(),
                                             CertificateChain=got["CertificateChain"].encode())
leaves = [issue(sub, CSRS[0], "EndEntityCertificate/V1", {"Type": "DAYS", "Value": 30}, IdempotencyToken=TAG + "-tok")]
leaves += [issue(sub, c, "EndEntityCertificate/V1", {"Type": "DAYS", "Value": 30}) for c in CSRS[1:3]]
revoked = leaves[1].rsplit("/", 1)[1]
pca.revoke_certificate(CertificateAuthorityArn=sub, RevocationReason="KEY_COMPROMISE",
                       CertificateSerial=":".join(revoked[i:i + 2] for i in range(0, len(revoked), 2)))
pca.tag_certificate_authority(CertificateAuthorityArn=sub, Tags=[{"Key": "team", "Value": "pki"}])
pca.put_policy(ResourceArn=root, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": "210987654321"}, "Action": "acm-pca:IssueCertificate", "Resource": root}]}))
pca.create_permission(CertificateAuthorityArn=sub, Principal="acm.amazonaws.com",
                      Actions=["IssueCertificate", "GetCertificate", "ListPermissions"])
rep = pca.create_certificate_authority_audit_report(CertificateAuthorityArn=sub, S3BucketName="mig-audit-" + TAG,
                                                    AuditReportResponseFormat="JSON")
pca.get_waiter("audit_report_created").wait(CertificateAuthorityArn=sub, AuditReportId=rep["AuditReportId"], WaiterConfig=W)
gone = ca("ROOT", "Mig Deleted")
pca.delete_certificate_authority(CertificateAuthorityArn=gone, PermanentDeletionTimeInDays=7)
out({"root": root, "sub": sub, "gone": gone, "leaves": leaves, "revoked": revoked, "root_cert": root_cert,
     "sub_cert": sub_cert, "report": rep["AuditReportId"], "report_key": rep["S3Key"], "bucket": "mig-audit-" + TAG})
PY
my $F = $fill->{json} || {};
ok($fill->{rc} == 0 && $F->{gone}, 'boto3 fills host A: 3 CAs, 5 certificates, a revocation, tags, policy, '
   . 'permissions, an audit report, a deleted CA') or BAIL_OUT("boto3: $fill->{err}");

my $leaf_pem = $A->with(sub { (api(GetCertificate => { CertificateAuthorityArn => $F->{sub},
                                                        CertificateArn => $F->{leaves}[0] }))[1]{Certificate} });
my $crl_url = cdp_url($leaf_pem);
my $crl_a = wait_for(sub { my $r = http_get($crl_url); $r->is_success ? $r : undef }, 30);
ok($crl_a && crl_entries(crl_text($crl_a->content))->{ $F->{revoked} }, "A serves the subordinate's CRL with the revocation")
    or BAIL_OUT('no CRL');

# Everything the API answers about the store, as one JSON text (boto3, all pages).
my $SNAPSHOT = <<'PY';
import sys
def safe(f, **kw):
    try:
        r = f(**kw)
        r.pop("ResponseMetadata", None)
        return r
    except ClientError as e:
        return {"error": e.response["Error"]["Code"]}
IDS = json.loads(sys.argv[1])
snap = {"cas": [], "certs": {}}
for page in pca.get_paginator("list_certificate_authorities").paginate(PaginationConfig={"PageSize": 2}):
    for c in page["CertificateAuthorities"]:
        a = c["Arn"]
        snap["cas"].append({"ca": c, "tags": safe(pca.list_tags, CertificateAuthorityArn=a),
                            "policy": safe(pca.get_policy, ResourceArn=a),
                            "perms": safe(pca.list_permissions, CertificateAuthorityArn=a),
                            "cert": safe(pca.get_certificate_authority_certificate, CertificateAuthorityArn=a),
                            "csr": safe(pca.get_certificate_authority_csr, CertificateAuthorityArn=a)})
for ca_arn, arn in IDS["certs"]:
    snap["certs"][arn] = safe(pca.get_certificate, CertificateAuthorityArn=ca_arn, CertificateArn=arn)
snap["report"] = safe(pca.describe_certificate_authority_audit_report, CertificateAuthorityArn=IDS["sub"],
                      AuditReportId=IDS["report"])
out(snap)
PY
my @cert_ids = ([$F->{root}, $F->{root_cert}], [$F->{root}, $F->{sub_cert}], map { [$F->{sub}, $_] } @{ $F->{leaves} });
my $ids = json_encode({ certs => \@cert_ids, sub => $F->{sub}, report => $F->{report} });
sub snap {
    my $s = shift;
    my $r = $s->with(sub { boto3_script("import sys\nsys.argv = ['x', " . json_encode($ids) . "]\n" . $SNAPSHOT) });
    diag($r->{err}) if $r->{rc};
    $r->{rc} == 0 ? $r->{out} : undef;
}
my $snap_a = snap($A);
ok($snap_a && (json_decode((split /\n/, $snap_a)[-1]) || {})->{report}{AuditReportStatus} eq 'SUCCESS',
   "a snapshot of A's answers (every CA, its tags, policy, permissions, certificate, CSR; every certificate; the report)");
my $report_a = $A->with(sub { raw_request(GET => "/$F->{bucket}/$F->{report_key}", '', 'Content-Type' => undef) });
ok($A->stop, 'host A stops (a store is migrated while nothing writes it)');

# ---- 2. sqlite -> Redis -> sqlite
my $db_a = $A->db;
my $r = migrate("sqlite:$db_a", $redis);
ok($r->{rc} == 0 && $r->{out} =~ /^  cert\s+5$/m && $r->{out} =~ /^  ca\s+3$/m && $r->{out} =~ /verified/,
   'store-migrate sqlite -> redis copies and verifies (counts per type)') or diag "$r->{out}$r->{err}";
# Beside A's file, in the directory the module gave its workers.
my $db_c = catfile($A->data, 'roundtrip.db');
$r = migrate($redis, "sqlite:$db_c");
ok($r->{rc} == 0 && $r->{out} =~ /verified/, 'store-migrate redis -> a fresh sqlite file copies and verifies')
    or diag "$r->{out}$r->{err}";
my($dump_a, $dump_c) = (dump_of("sqlite:$db_a"), dump_of("sqlite:$db_c"));
my @la = split /\n/, $dump_a // '';
my @lc = split /\n/, $dump_c // '';
my @diff = grep { ($la[$_] // '') ne ($lc[$_] // '') } 0 .. ($#la > $#lc ? $#la : $#lc);
ok(@la > 10 && !@diff, 'sqlite -> redis -> sqlite migration round trip preserves every record '
   . '(the dumps of the original and the round-tripped file are the same, line for line)')
    or diag(scalar(@la) . ' vs ' . scalar(@lc) . " lines; first difference:\n" . ($la[$diff[0]] // '') . "\n" . ($lc[$diff[0]] // ''));
my @types = map { /^\{"t":"(\w+)"/ ? $1 : () } @la;
my %n;
$n{$_}++ for @types;
ok($n{ca} == 3 && $n{cert} == 5 && $n{report} == 1 && $n{idem} >= 1 && $n{object} >= 2 && $n{counter} >= 1
   && $n{ca_seq} == 1, 'every kind of record went through: CAs, certificates, report, claims, objects, counters')
    or diag(join ' ', map { "$_=$n{$_}" } sort keys %n);
my @st_a = stat $db_a;
my @st_c = stat $db_c;
ok(($st_c[2] & 07777) == 0600 && $st_c[4] == $st_a[4] && $st_c[5] == $st_a[5],
   "the new sqlite file is mode 0600 and owned as the module's own file (uid $st_a[4])")
    or diag(sprintf 'mode %o uid %d gid %d', $st_c[2] & 07777, $st_c[4], $st_c[5]);

$r = migrate("sqlite:$db_a", $redis);
ok($r->{rc} != 0 && $r->{err} =~ /holds records already/, 'a destination that holds records is refused')
    or diag "$r->{out}$r->{err}";
$r = migrate('--force', "sqlite:$db_a", $redis);
ok($r->{rc} == 0 && $r->{out} =~ /verified/, '... and taken with --force (the same records: replaced by themselves)')
    or diag "$r->{out}$r->{err}";

# ---- 3. B serves the Redis store
ok($B->start, 'host B serves the Redis store with the same key-encryption key') or BAIL_OUT('host B did not start');
my $snap_b = snap($B);
is($snap_b, $snap_a, 'B answers every read exactly as A did');
my $report_b = $B->with(sub { raw_request(GET => "/$F->{bucket}/$F->{report_key}", '', 'Content-Type' => undef) });
ok($report_a->is_success && $report_b->is_success && $report_b->content eq $report_a->content,
   'the audit report object reads the same');
my $crl_b = http_get($crl_url =~ s{^http://[^/]+}{$B->endpoint}er);
ok($crl_b->is_success && $crl_b->content eq $crl_a->content && ($crl_b->header('ETag') // '') eq ($crl_a->header('ETag') // ''),
   'the CRL reads the same, bytes and ETag')
    or diag($crl_b->request->uri . ': ' . $crl_b->status_line);

my %issue = (CertificateAuthorityArn => $F->{sub}, Csr => b64($csrs[0]), SigningAlgorithm => 'SHA256WITHECDSA',
             Validity => { Type => 'DAYS', Value => 30 });
my($st, $j) = $B->api(IssueCertificate => { %issue, IdempotencyToken => "$tag-tok" });
is($st == 200 && $j->{CertificateArn}, $F->{leaves}[0], 'the IdempotencyToken used on A yields its certificate on B');
($st, $j) = $B->api(IssueCertificate => { %issue, Csr => b64($csrs[3]) });
my %old = map { (m{/([0-9a-f]+)$})[0] => 1 } @{ $F->{leaves} }, $F->{sub_cert}, $F->{root_cert};
my($serial) = ($j->{CertificateArn} // '') =~ m{/([0-9a-f]+)$};
ok($st == 200 && $serial && !$old{$serial}, 'B issues on: a fresh serial');
($st, $j) = $B->api(CreateCertificateAuthority => { CertificateAuthorityType => 'ROOT', IdempotencyToken => "$tag-new",
    CertificateAuthorityConfiguration => { KeyAlgorithm => 'EC_prime256v1', SigningAlgorithm => 'SHA256WITHECDSA',
                                           Subject => { CommonName => 'Mig New' } } });
my $new = $j->{CertificateAuthorityArn} // 'none';
my($lst, $list) = $B->api(ListCertificateAuthorities => {});
my @order = map { $_->{Arn} } @{ $list->{CertificateAuthorities} || [] };
is_deeply(\@order, [$F->{root}, $F->{sub}, $F->{gone}, $new], 'a CA created on B lists after the migrated ones (seq goes on)');

# The CRL number goes on from A's: a revocation on B rebuilds the CRL.
my $num_a = crl_number($crl_a->content) // 0;
my($rst) = $B->api(RevokeCertificate => { CertificateAuthorityArn => $F->{sub}, RevocationReason => 'SUPERSEDED',
                                          CertificateSerial => join ':', unpack '(A2)*', $serial // '00' });
my $num_b = wait_for(sub { my $c = http_get($crl_b->request->uri); my $n = $c->is_success ? crl_number($c->content) : 0;
                           ($n // 0) > $num_a ? $n : undef }, 30);
ok($rst == 200 && $num_b && $num_b > $num_a, "a revocation on B publishes CRL number @{[$num_b // '?']} after A's $num_a");
($st) = $B->api(RestoreCertificateAuthority => { CertificateAuthorityArn => $F->{gone} });
my(undef, $d) = $B->api(DescribeCertificateAuthority => { CertificateAuthorityArn => $F->{gone} });
ok($st == 200 && ($d->{CertificateAuthority}{Status} // '') eq 'PENDING_CERTIFICATE',
   'the CA deleted on A is restored on B (its restoration period came along)');
