# IssueCertificate + GetCertificate for a ROOT CA's own certificate
# (RootCACertificate/V1, PCA-API.md §5.5, §5.6, §7.2, §7.3): the certificate ARN,
# the X.509 content, the rules of issuing from PENDING_CERTIFICATE.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use JSON::PP ();
use POSIX ();
use Time::Local qw(timegm);

plan tests => 33, need_module('acmpca');

my $arn = create_ca(key => 'RSA_2048', cn => uniq('Root Cert'), extra => { RevocationConfiguration => {
    CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => 'root-crl-bucket' } } });
my $csr = $arn ? get_ca_csr($arn) : '';
ok($csr, 'a pending ROOT CA (RSA_2048, CRL enabled) and its CSR');

# ---- issue from PENDING_CERTIFICATE
my $t = time;
my($st, $j, $res) = api(IssueCertificate => { CertificateAuthorityArn => $arn // '', Csr => b64($csr),
    SigningAlgorithm => 'SHA256WITHRSA', TemplateArn => ROOT_TEMPLATE, Validity => { Type => 'YEARS', Value => 10 } });
my $carn = is_api_ok($res, 'IssueCertificate RootCACertificate/V1 on its own CSR while PENDING_CERTIFICATE') && $j->{CertificateArn};
like($carn // '', CERT_ARN_RE, 'CertificateArn: <CA ARN>/certificate/<lowercase hex>');
ok(index($carn // '', ($arn // 'x') . '/certificate/') == 0, '... under this CA');

($st, $j, $res) = api(GetCertificate => { CertificateAuthorityArn => $arn // '', CertificateArn => $carn // '' });
my $cert = (is_api_ok($res, 'GetCertificate') && $j->{Certificate}) || '';
like($cert, qr/\A-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+\/=]{1,64}\n)+-----END CERTIFICATE-----\n?\z/, 'Certificate is one PEM certificate');
ok(!exists $j->{CertificateChain}, 'no CertificateChain for the root self-signed certificate');

my $text = cert_text($cert) // '';
like($text, qr/Version: 3 \(0x2\)/, 'X.509 v3');
is(verify_cert($cert, $cert)->{rc}, 0, 'self-signed: openssl verify with itself as trust anchor');
is(cert_subject($cert), csr_subject($csr), 'subject = CSR subject');
is(cert_issuer($cert), cert_subject($cert), 'issuer = subject');
is(cert_pubkey($cert), csr_pubkey($csr), 'public key = CSR key');
like($text, qr/Signature Algorithm: sha256WithRSAEncryption/, 'signed with SHA256WITHRSA');
my($crit, $bc) = cert_field($text, 'Basic Constraints');
ok($crit && ($bc // '') eq 'CA:TRUE', 'Basic Constraints: critical, CA:TRUE, no pathlen') or diag($bc);
my $ku;
($crit, $ku) = cert_field($text, 'Key Usage');
ok($crit && ($ku // '') eq 'Digital Signature, Certificate Sign, CRL Sign', 'Key Usage: critical, digitalSignature keyCertSign cRLSign')
    or diag($ku);
ok(!cert_field($text, 'Extended Key Usage'), 'no Extended Key Usage');
my $ski = ACMPCA::Test::key_id($text, 'Subject Key Identifier');
is($ski, spki_sha1(cert_pubkey($cert)), 'SKI = SHA-1 of the subjectPublicKey (RFC 5280 method 1)');
is(ACMPCA::Test::key_id($text, 'Authority Key Identifier'), $ski, 'AKI keyid = SKI');
ok(!cert_field($text, 'CRL Distribution Points'), 'no CRL Distribution Points on the root self-signed certificate (CRL enabled)');
my($nb, $na) = cert_dates($cert);
ok(defined $nb && abs($nb - ($t - 3600)) <= 120, 'NotBefore = issuance - 60 minutes') or diag("nb=$nb t=$t");
my @g = gmtime $t;
my $want_na = timegm(@g[0 .. 4], $g[5] + 1900 + 10);
ok(defined $na && abs($na - $want_na) <= 120, 'NotAfter = issuance + 10 calendar years') or diag("na=$na want=$want_na");
my($serial) = ($carn // '') =~ m{/certificate/([0-9a-f]+)$};
ok(same_serial($serial, cert_serial_hex($cert)), 'the ARN carries the certificate serial in hex');
my $sh = cert_serial_hex($cert) // '';
ok(length($sh) >= 16 && length($sh) <= 32 && (length($sh) < 32 || hex(substr $sh, 0, 1) < 8),
    'the serial is positive, 64 to 128 bits') or diag($sh);

# ---- activation; the certificate stays retrievable
ok(import_ca_cert($arn // '', $cert), 'the certificate is imported');
($st, $j) = api(GetCertificate => { CertificateAuthorityArn => $arn // '', CertificateArn => $carn // '' });
ok($st == 200 && $j->{Certificate} eq $cert, 'GetCertificate still gives it once ACTIVE');

# ---- what a PENDING_CERTIFICATE CA may not issue
my $p = create_ca(key => 'EC_prime256v1', cn => uniq('Pending Root'));
my $pcsr = $p ? get_ca_csr($p) : '';
my %base = (CertificateAuthorityArn => $p // '', Csr => b64($pcsr), SigningAlgorithm => 'SHA256WITHECDSA',
            TemplateArn => ROOT_TEMPLATE, Validity => { Type => 'YEARS', Value => 5 });
sub issue_res { my(undef, undef, $r) = api(IssueCertificate => {@_}); $r }

is_aws_error(issue_res(%base, TemplateArn => sub_template(0)), 400, 'InvalidStateException', undef,
    'PENDING_CERTIFICATE: a subordinate template -> InvalidStateException');
my %ee = %base;
delete $ee{TemplateArn};
is_aws_error(issue_res(%ee), 400, 'InvalidStateException', undef,
    'PENDING_CERTIFICATE: the default (end-entity) template -> InvalidStateException');
my $foreign = openssl_key_csr(subj => '/CN=foreign');
is_aws_error(issue_res(%base, Csr => b64($foreign ? $foreign->{csr} : '')), 400, 'InvalidArgsException', undef,
    'RootCACertificate/V1 on a CSR of another key -> InvalidArgsException');
is_aws_error(issue_res(%base, SigningAlgorithm => 'SHA256WITHRSA'), 400, 'InvalidArgsException',
    qr/^Signing algorithm SHA256WITHRSA cannot be used with key type EC_prime256v1\./,
    'a signing algorithm of the wrong family -> InvalidArgsException');
is_aws_error(issue_res(%base, Csr => b64('this is not a CSR')), 400, 'MalformedCSRException', undef,
    'a Csr that is not a CSR -> MalformedCSRException');
my $der = openssl({ stdin => $pcsr }, 'req', '-outform', 'DER')->{out};
substr($der, -1, 1) = chr(ord(substr $der, -1, 1) ^ 0x55) if length $der;
my $bad_sig = openssl({ stdin => $der }, 'req', '-inform', 'DER')->{out};
is_aws_error(issue_res(%base, Csr => b64($bad_sig)), 400, 'MalformedCSRException', undef,
    'a CSR whose self-signature does not verify -> MalformedCSRException');

my $sub = create_ca(type => 'SUBORDINATE');
my $scsr = $sub ? get_ca_csr($sub) : '';
is_aws_error(issue_res(%base, CertificateAuthorityArn => $sub // '', Csr => b64($scsr)), 400, 'InvalidStateException', undef,
    'a pending SUBORDINATE cannot self-issue with RootCACertificate/V1 -> InvalidStateException');
is(ca_status($p // ''), 'PENDING_CERTIFICATE', 'the refused requests left the CA PENDING_CERTIFICATE');
