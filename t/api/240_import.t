# ImportCertificateAuthorityCertificate (PCA-API.md §5.7, §11.7): parse errors
# (MalformedCertificateException), key mismatch (CertificateMismatchException),
# ROOT and SUBORDINATE rules (InvalidRequestException), chain order and
# verification, BasicConstraints, disallowed critical extensions, DER accepted,
# a subordinate signed by an external (openssl) root, renewal re-import, states.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 35, need_module('acmpca');

sub import_res {
    my($arn, $cert, $chain) = @_;
    my(undef, undef, $res) = api(ImportCertificateAuthorityCertificate => {
        CertificateAuthorityArn => $arn // '', Certificate => b64($cert // ''),
        (defined $chain ? (CertificateChain => b64($chain)) : ()) });
    $res;
}

my $R = make_root_active(cn => uniq('Import Root R'));
ok($R, 'root R is ACTIVE');
my $X = make_openssl_root(cn => 'External Root X');
ok($X, 'an external root X is made with openssl');

# ---- a ROOT CA
my $p1 = create_ca(cn => uniq('Import Root P1'));
my $p1_csr = $p1 ? get_ca_csr($p1) : '';
my $p1_carn = $p1_csr ? issue_ca_cert($p1, $p1_csr) : undef;
my $p1_cert = $p1_carn ? (get_cert($p1, $p1_carn) || {})->{Certificate} : '';
ok($p1_cert, 'P1 (ROOT) has its self-signed certificate issued');

is_aws_error(import_res($p1, 'hello, not a certificate'), 400, 'MalformedCertificateException', undef,
    'bytes that are no certificate -> MalformedCertificateException');
is_aws_error(import_res($p1, $p1_csr), 400, 'MalformedCertificateException', undef,
    'a CSR instead of a certificate -> MalformedCertificateException');
(my $broken = $p1_cert) =~ s/(-----BEGIN CERTIFICATE-----\n.{10})./$1!/s;
is_aws_error(import_res($p1, $broken), 400, 'MalformedCertificateException', undef,
    'a PEM certificate with a corrupted body -> MalformedCertificateException');
my $other = openssl_key_csr(subj => '/CN=other key');
my $other_self = $other ? openssl('req', '-x509', '-key', $other->{key}, '-subj', '/CN=other key', '-days', '30')->{out} : '';
is_aws_error(import_res($p1, $other_self), 400, 'CertificateMismatchException', undef,
    'a self-signed certificate of another key -> CertificateMismatchException');
is_aws_error(import_res($p1, $R ? $R->{cert} : ''), 400, 'CertificateMismatchException', undef,
    'the certificate of another CA -> CertificateMismatchException');
is_aws_error(import_res($p1, $p1_cert, $R ? $R->{cert} : ''), 400, 'InvalidRequestException', undef,
    'a ROOT certificate with a chain -> InvalidRequestException');
my $p1_by_x = $X && $p1_csr ? openssl_sign_csr($X, $p1_csr) : '';
is_aws_error(import_res($p1, $p1_by_x), 400, 'InvalidRequestException', undef,
    'a ROOT CA certificate that is not self-signed -> InvalidRequestException');
is(ca_status($p1 // ''), 'PENDING_CERTIFICATE', 'after all that P1 is still PENDING_CERTIFICATE');
my $der = openssl({ stdin => $p1_cert }, 'x509', '-outform', 'DER')->{out};
ok(length $der && import_res($p1, $der)->code == 200, 'the certificate as DER is accepted');
is(ca_status($p1 // ''), 'ACTIVE', 'P1 is ACTIVE');

# ---- a SUBORDINATE CA signed by R
my $s1 = create_ca(type => 'SUBORDINATE', cn => uniq('Import Sub S1'));
my $s1_csr = $s1 ? get_ca_csr($s1) : '';
my $s1_carn = ($s1_csr && $R) ? issue_ca_cert($R->{arn}, $s1_csr, template => sub_template(0), validity => { Type => 'DAYS', Value => 100 }) : undef;
my $s1_got = $s1_carn ? get_cert($R->{arn}, $s1_carn) : undef;
my $s1_cert = $s1_got ? $s1_got->{Certificate} : '';
ok($s1_cert, 'R issues a certificate for S1 (SUBORDINATE)');

is_aws_error(import_res($s1, $s1_cert), 400, 'InvalidRequestException', undef,
    'a SUBORDINATE certificate without a chain -> InvalidRequestException');
is_aws_error(import_res($s1, $s1_cert, nl($s1_cert) . ($R ? $R->{cert} : '')), 400, 'InvalidRequestException', undef,
    'a chain holding the certificate itself -> InvalidRequestException');
is_aws_error(import_res($s1, $s1_cert, $X ? $X->{cert} : ''), 400, 'CertificateMismatchException', undef,
    'a chain whose first certificate did not sign it -> CertificateMismatchException');
is_aws_error(import_res($s1, $s1_cert, 'not a PEM chain'), 400, 'MalformedCertificateException', undef,
    'a chain that does not parse -> MalformedCertificateException');

# Certificates for S1's key made by the external root X, with chosen extensions.
my %bad_ext = (
    'BasicConstraints CA:FALSE' => ["basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n", 'InvalidRequestException'],
    'BasicConstraints not critical' => ["basicConstraints=CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n", 'InvalidRequestException'],
    'no BasicConstraints' => ["keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n", 'InvalidRequestException'],
    'a critical CRL Distribution Points' => ["basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
        . "crlDistributionPoints=critical,URI:http://crl.example.com/x.crl\n", 'MalformedCertificateException'],
    'a critical Authority Information Access' => ["basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
        . "authorityInfoAccess=critical,OCSP;URI:http://ocsp.example.com\n", 'MalformedCertificateException'],
);
for my $name (sort keys %bad_ext) {
    my($ext, $type) = @{ $bad_ext{$name} };
    my $c = $X && $s1_csr ? openssl_sign_csr($X, $s1_csr, ext => $ext) : '';
    is_aws_error(import_res($s1, $c, $X ? $X->{cert} : ''), 400, $type, undef, "a CA certificate with $name -> $type");
}
is(ca_status($s1 // ''), 'PENDING_CERTIFICATE', 'S1 is still PENDING_CERTIFICATE');

# The external root signs S1 properly: S1 becomes ACTIVE under X.
{
    my $c = $X && $s1_csr ? openssl_sign_csr($X, $s1_csr) : '';
    is(import_res($s1, $c, $X ? $X->{cert} : '')->code, 200, 'a subordinate signed by an external root imports with its chain');
    my($st, $j) = api(GetCertificateAuthorityCertificate => { CertificateAuthorityArn => $s1 // '' });
    ok($st == 200 && nl($j->{CertificateChain}) eq nl($X ? $X->{cert} : 'x') && nl($j->{Certificate}) eq nl($c),
        'GetCertificateAuthorityCertificate gives back that certificate and chain');
}

# ---- chain order with three levels: R -> S2 (PathLen1) -> S3
my $S2 = make_sub_active($R, pathlen => 1, cn => uniq('Import Sub S2'));
ok($S2, 'S2 (PathLen1) under R is ACTIVE');
my $s3 = create_ca(type => 'SUBORDINATE', cn => uniq('Import Sub S3'));
my $s3_csr = $s3 ? get_ca_csr($s3) : '';
my $s3_carn = ($S2 && $s3_csr) ? issue_ca_cert($S2->{arn}, $s3_csr, signing => $S2->{signing}, template => sub_template(0),
                                              validity => { Type => 'DAYS', Value => 30 }) : undef;
my $s3_got = $s3_carn ? get_cert($S2->{arn}, $s3_carn) : undef;
my $s3_cert = $s3_got ? $s3_got->{Certificate} : '';
is_aws_error(import_res($s3, $s3_cert, nl($R ? $R->{cert} : '') . ($S2 ? $S2->{cert} : '')), 400, 'InvalidRequestException', undef,
    'a chain in the wrong order (root first) -> InvalidRequestException');
is_aws_error(import_res($s3, $s3_cert, $S2 ? $S2->{cert} : ''), 400, 'InvalidRequestException', undef,
    'a chain that stops before a self-signed root -> InvalidRequestException');
is(import_res($s3, $s3_cert, $s3_got ? $s3_got->{CertificateChain} : '')->code, 200,
    'the chain GetCertificate returned (issuer first, root last) imports');

# ---- renewal: ACTIVE root R re-imports a new self-signed certificate
{
    my $carn = $R ? issue_ca_cert($R->{arn}, $R->{csr}, validity => { Type => 'YEARS', Value => 5 }) : undef;
    my $new = $carn ? (get_cert($R->{arn}, $carn) || {})->{Certificate} : '';
    is(import_res($R ? $R->{arn} : '', $new)->code, 200, 'an ACTIVE root re-imports a renewed certificate');
    my $d = $R ? describe_ca($R->{arn}) : undef;
    ok($d && $d->{Status} eq 'ACTIVE' && same_serial($d->{Serial}, cert_serial_hex($new)),
        'it stays ACTIVE and Describe shows the new serial');
}

# ---- DISABLED keeps its status through an import; DELETED refuses
{
    api(UpdateCertificateAuthority => { CertificateAuthorityArn => $p1 // '', Status => 'DISABLED' });
    is(import_res($p1, $p1_cert)->code, 200, 'a DISABLED CA accepts an import');
    is(ca_status($p1 // ''), 'DISABLED', '... and stays DISABLED');
    my $d = create_ca();
    my $csr = $d ? get_ca_csr($d) : '';
    my $carn = $csr ? issue_ca_cert($d, $csr) : undef;
    my $cert = $carn ? (get_cert($d, $carn) || {})->{Certificate} : '';
    api(DeleteCertificateAuthority => { CertificateAuthorityArn => $d // '', PermanentDeletionTimeInDays => 7 });
    is_aws_error(import_res($d, $cert), 400, 'InvalidStateException', undef, 'a DELETED CA -> InvalidStateException');
}
