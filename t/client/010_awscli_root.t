# The real awscli (/usr/bin/aws, Debian's) takes a ROOT CA from creation to
# ACTIVE with --endpoint-url: the commands `make run` prints, waiters included.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 18, need_module('acmpca');


my $cfg = write_file('root-config.json', json_encode({
    KeyAlgorithm => 'EC_prime256v1', SigningAlgorithm => 'SHA256WITHECDSA',
    Subject => { CommonName => uniq('awscli Root'), Organization => 'mod_acmpca tests', Country => 'DE' } }));

my $r = cli_ok('aws acm-pca create-certificate-authority', qw(acm-pca create-certificate-authority
    --certificate-authority-type ROOT --certificate-authority-configuration), "file://$cfg",
    '--idempotency-token', uniq('cli'), '--tags', 'Key=flow,Value=awscli');
my $ca = ($r->{json} || {})->{CertificateAuthorityArn} // '';
like($ca, CA_ARN_RE, 'it prints the CertificateAuthorityArn');

cli_ok('aws acm-pca wait certificate-authority-csr-created', qw(acm-pca wait certificate-authority-csr-created
    --certificate-authority-arn), $ca);
$r = cli_ok('get-certificate-authority-csr --output text', qw(acm-pca get-certificate-authority-csr
    --certificate-authority-arn), $ca, '--output', 'text');
like($r->{out}, qr/\A-----BEGIN CERTIFICATE REQUEST-----\n.+-----END CERTIFICATE REQUEST-----\n*\z/s, 'the CSR is PEM');
my $csr_file = write_file('ca.csr', $r->{out});

$r = cli_ok('issue-certificate --csr fileb://ca.csr (RootCACertificate/V1)', qw(acm-pca issue-certificate
    --certificate-authority-arn), $ca, '--csr', "fileb://$csr_file", qw(--signing-algorithm SHA256WITHECDSA
    --template-arn), ROOT_TEMPLATE, '--validity', 'Value=10,Type=YEARS', '--idempotency-token', uniq('cli'));
my $cert_arn = ($r->{json} || {})->{CertificateArn} // '';
like($cert_arn, CERT_ARN_RE, 'it prints the CertificateArn');

cli_ok('aws acm-pca wait certificate-issued', qw(acm-pca wait certificate-issued --certificate-authority-arn), $ca,
    '--certificate-arn', $cert_arn);
$r = cli_ok('get-certificate --query Certificate --output text', qw(acm-pca get-certificate --certificate-authority-arn),
    $ca, '--certificate-arn', $cert_arn, qw(--query Certificate --output text));
my $pem = $r->{out};
like($pem, qr/\A-----BEGIN CERTIFICATE-----\n/, 'the certificate is PEM');
my $pem_file = write_file('ca.pem', $pem);

cli_ok('import-certificate-authority-certificate --certificate fileb://ca.pem', qw(acm-pca
    import-certificate-authority-certificate --certificate-authority-arn), $ca, '--certificate', "fileb://$pem_file");

$r = cli_ok('describe-certificate-authority', qw(acm-pca describe-certificate-authority --certificate-authority-arn), $ca);
my $d = (($r->{json} || {})->{CertificateAuthority}) || {};
is($d->{Status}, 'ACTIVE', 'describe shows ACTIVE');
like($d->{NotAfter} // '', qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'awscli parsed NotAfter as a timestamp');

$r = aws_cli(qw(acm-pca get-certificate-authority-certificate --certificate-authority-arn), $ca);
ok($r->{rc} == 0 && nl(($r->{json} || {})->{Certificate}) eq nl($pem) && !exists $r->{json}{CertificateChain},
    'get-certificate-authority-certificate gives the certificate, no chain') or diag($r->{err});

$r = aws_cli(qw(acm-pca list-tags --certificate-authority-arn), $ca);
is_deeply(($r->{json} || {})->{Tags}, [{ Key => 'flow', Value => 'awscli' }], 'list-tags shows the tag given at creation');

$r = aws_cli(qw(acm-pca list-certificate-authorities --max-results 100));
ok(grep({ $_->{Arn} eq $ca } @{ ($r->{json} || {})->{CertificateAuthorities} || [] }), 'list-certificate-authorities lists it');

# A service error as awscli reports it.
$r = aws_cli(qw(acm-pca describe-certificate-authority --certificate-authority-arn),
    'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/0b7e0c7a-3c1f-4f5e-9a51-1d2c3b4a5f60');
ok($r->{rc} != 0 && $r->{err} =~ /\(ResourceNotFoundException\)/, 'an unknown CA: awscli fails with ResourceNotFoundException')
    or diag("rc=$r->{rc} $r->{err}");
