# SUBORDINATE CAs (PCA-API.md §5.5, §5.6, §7.2, §7.3): SubordinateCACertificate_
# PathLen0..3/V1 issued by an ACTIVE CA, the content of the certificate, the
# chain GetCertificate returns, openssl verify, path-length rules, mixed key
# families, three levels.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 31, need_module('acmpca');


# RSA_4096 root signing with SHA512WITHRSA; an EC_secp384r1 subordinate.
my $R = make_root_active(key => 'RSA_4096', signing => 'SHA512WITHRSA', cn => uniq('Sub Test Root'));
ok($R, 'root (RSA_4096, SHA512WITHRSA) is ACTIVE');

my $sarn = create_ca(type => 'SUBORDINATE', key => 'EC_secp384r1', cn => uniq('Sub Test Sub'));
my $scsr = $sarn ? get_ca_csr($sarn) : '';
my $t = time;
my $carn = $R && $scsr ? issue_ca_cert($R->{arn}, $scsr, signing => 'SHA512WITHRSA', template => sub_template(0),
                                        validity => { Type => 'DAYS', Value => 365 }) : undef;
like($carn // '', CERT_ARN_RE, 'the root issues a PathLen0 certificate for the subordinate CSR');
ok(index($carn // '', ($R ? $R->{arn} : 'x') . '/certificate/') == 0, 'the certificate ARN is under the issuing (root) CA');
my($st, $j) = api(GetCertificate => { CertificateAuthorityArn => $R ? $R->{arn} : '', CertificateArn => $carn // '' });
my $cert  = ($st == 200 && $j->{Certificate}) || '';
my $chain = ($st == 200 && $j->{CertificateChain}) || '';
ok($cert, 'GetCertificate returns the certificate');
is(nl($chain), nl($R ? $R->{cert} : 'x'), 'CertificateChain is the root certificate');

my $text = cert_text($cert) // '';
my $rtext = cert_text($R ? $R->{cert} : '') // '';
is(cert_issuer($cert), cert_subject($R ? $R->{cert} : ''), 'issuer = root subject');
is(cert_subject($cert), csr_subject($scsr), 'subject = CSR subject');
is(cert_pubkey($cert), csr_pubkey($scsr), 'public key = the subordinate key');
like($text, qr/Signature Algorithm: sha512WithRSAEncryption/, 'signed with the SigningAlgorithm of the request (SHA512WITHRSA)');
my($crit, $v) = cert_field($text, 'Basic Constraints');
ok($crit && ($v // '') eq 'CA:TRUE, pathlen:0', 'Basic Constraints: critical, CA:TRUE, pathlen:0') or diag($v);
($crit, $v) = cert_field($text, 'Key Usage');
ok($crit && ($v // '') eq 'Digital Signature, Certificate Sign, CRL Sign', 'Key Usage: critical, digitalSignature keyCertSign cRLSign') or diag($v);
is(ACMPCA::Test::key_id($text, 'Authority Key Identifier'), ACMPCA::Test::key_id($rtext, 'Subject Key Identifier'), 'AKI = the root SKI');
is(ACMPCA::Test::key_id($text, 'Subject Key Identifier'), spki_sha1(cert_pubkey($cert)), 'SKI = SHA-1 of its subjectPublicKey');
my($nb, $na) = cert_dates($cert);
ok(defined $na && abs($na - ($t + 365 * 86400)) <= 120, 'NotAfter = issuance + 365 days');
ok(defined $nb && abs($nb - ($t - 3600)) <= 120, 'NotBefore = issuance - 60 minutes');
my $vr = verify_cert($R ? $R->{cert} : '', $cert);
is($vr->{rc}, 0, 'openssl verify -CAfile root.pem sub.pem') or diag($vr->{out} . $vr->{err});

ok(import_ca_cert($sarn // '', $cert, $chain), 'the subordinate imports its certificate with the chain');
is(ca_status($sarn // ''), 'ACTIVE', 'the subordinate is ACTIVE');
my $S0 = { arn => $sarn, cert => $cert, chain => $chain, signing => 'SHA384WITHECDSA', key => 'EC_secp384r1' };

# ---- path lengths
my $pending = create_ca(type => 'SUBORDINATE');
my $pcsr = $pending ? get_ca_csr($pending) : '';
sub issue_res {
    my($issuer, $tmpl, %o) = @_;
    my(undef, undef, $r) = api(IssueCertificate => { CertificateAuthorityArn => $issuer->{arn} // '', Csr => b64($o{csr} // $pcsr),
        SigningAlgorithm => $issuer->{signing}, TemplateArn => $tmpl, Validity => { Type => 'DAYS', Value => 30 } });
    $r;
}
is_aws_error(issue_res($S0, sub_template(0)), 400, 'ValidationException', undef,
    'a pathLen-0 CA may not issue a CA certificate -> ValidationException');
my $S1 = make_sub_active($R, pathlen => 1, cn => uniq('PathLen1'));
ok($S1, 'a PathLen1 subordinate under the root is ACTIVE');
is_aws_error(issue_res($S1, sub_template(1)), 400, 'ValidationException', undef,
    'a pathLen-1 CA may not issue PathLen1 -> ValidationException');
is_aws_error(issue_res($S1, sub_template(3)), 400, 'ValidationException', undef,
    'a pathLen-1 CA may not issue PathLen3 -> ValidationException');
for my $n (1 .. 3) {
    is_api_ok(issue_res($R, sub_template($n), csr => $pcsr), "the root (no pathlen) issues SubordinateCACertificate_PathLen$n/V1");
}
my $unknown = $R ? issue_res($R, 'arn:aws:acm-pca:::template/NoSuchTemplate/V1') : undef;
is_aws_error($unknown, 400, 'InvalidArgsException', undef, 'an unknown template -> InvalidArgsException');

# ---- three levels: root -> S1 (PathLen1) -> S2 (PathLen0)
my $S2 = make_sub_active($S1, pathlen => 0, key => 'RSA_2048', cn => uniq('Level 3'), validity => { Type => 'DAYS', Value => 60 });
ok($S2, 'a third-level CA under the PathLen1 CA is ACTIVE');
is(nl($S2 ? $S2->{chain} : ''), nl($S1 ? $S1->{cert} : 'x') . nl($R ? $R->{cert} : 'x'),
    'its chain from GetCertificate: the issuing CA first, then the root');
$vr = verify_cert($R ? $R->{cert} : '', $S2 ? $S2->{cert} : '', $S1 ? $S1->{cert} : '');
is($vr->{rc}, 0, 'openssl verify: root trusted, S1 untrusted, S2 leaf') or diag($vr->{out} . $vr->{err});

# ---- validity beyond the issuer, issuing when DISABLED
is_aws_error(scalar((api(IssueCertificate => { CertificateAuthorityArn => $S1 ? $S1->{arn} : '', Csr => b64($pcsr),
        SigningAlgorithm => $S1 ? $S1->{signing} : 'x', TemplateArn => sub_template(0),
        Validity => { Type => 'YEARS', Value => 5 } }))[2]), 400, 'ValidationException', undef,
    'a validity past the issuing CA NotAfter -> ValidationException');
api(UpdateCertificateAuthority => { CertificateAuthorityArn => $S1 ? $S1->{arn} : '', Status => 'DISABLED' });
is_aws_error(issue_res($S1, sub_template(0)), 400, 'InvalidStateException', qr/not in a valid state for issuing certificates/,
    'a DISABLED CA -> InvalidStateException, AWS message');
