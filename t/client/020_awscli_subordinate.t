# The real awscli takes a SUBORDINATE CA to ACTIVE under a ROOT it also made:
# issue-certificate with SubordinateCACertificate_PathLen0/V1, get-certificate
# with its chain, import-certificate-authority-certificate with --certificate and
# --certificate-chain fileb://. openssl verify accepts the result.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 14, need_module('acmpca');

sub ca_config_file {
    my($cn, $key, $sig) = @_;
    write_file('config.json', json_encode({ KeyAlgorithm => $key, SigningAlgorithm => $sig,
        Subject => { CommonName => $cn, Organization => 'mod_acmpca tests' } }));
}

# The root, by awscli.
my $r = cli_ok('create the ROOT', qw(acm-pca create-certificate-authority --certificate-authority-type ROOT
    --certificate-authority-configuration), 'file://' . ca_config_file(uniq('cli Root'), 'RSA_2048', 'SHA256WITHRSA'));
my $root = ($r->{json} || {})->{CertificateAuthorityArn} // '';
$r = aws_cli(qw(acm-pca get-certificate-authority-csr --output text --certificate-authority-arn), $root);
my $root_csr = write_file('root.csr', $r->{out});
$r = aws_cli(qw(acm-pca issue-certificate --certificate-authority-arn), $root, '--csr', "fileb://$root_csr",
    qw(--signing-algorithm SHA256WITHRSA --template-arn), ROOT_TEMPLATE, '--validity', 'Value=5,Type=YEARS');
my $root_cert_arn = ($r->{json} || {})->{CertificateArn} // '';
$r = aws_cli(qw(acm-pca get-certificate --query Certificate --output text --certificate-authority-arn), $root,
    '--certificate-arn', $root_cert_arn);
my $root_pem = $r->{out};
my $root_pem_file = write_file('root.pem', $root_pem);
cli_ok('import the root certificate', qw(acm-pca import-certificate-authority-certificate --certificate-authority-arn),
    $root, '--certificate', "fileb://$root_pem_file");
$r = aws_cli(qw(acm-pca describe-certificate-authority --query CertificateAuthority.Status --output text
    --certificate-authority-arn), $root);
like($r->{out}, qr/^ACTIVE\s*$/, 'the root is ACTIVE');

# The subordinate.
$r = cli_ok('create the SUBORDINATE', qw(acm-pca create-certificate-authority --certificate-authority-type SUBORDINATE
    --certificate-authority-configuration), 'file://' . ca_config_file(uniq('cli Sub'), 'EC_prime256v1', 'SHA256WITHECDSA'));
my $sub = ($r->{json} || {})->{CertificateAuthorityArn} // '';
$r = cli_ok('get its CSR', qw(acm-pca get-certificate-authority-csr --output text --certificate-authority-arn), $sub);
my $sub_csr = write_file('sub.csr', $r->{out});
$r = cli_ok('the root issues SubordinateCACertificate_PathLen0/V1 for it', qw(acm-pca issue-certificate
    --certificate-authority-arn), $root, '--csr', "fileb://$sub_csr", qw(--signing-algorithm SHA256WITHRSA --template-arn),
    sub_template(0), '--validity', 'Value=365,Type=DAYS');
my $sub_cert_arn = ($r->{json} || {})->{CertificateArn} // '';
cli_ok('wait certificate-issued', qw(acm-pca wait certificate-issued --certificate-authority-arn), $root,
    '--certificate-arn', $sub_cert_arn);
$r = cli_ok('get-certificate from the root', qw(acm-pca get-certificate --certificate-authority-arn), $root,
    '--certificate-arn', $sub_cert_arn);
my $sub_pem   = ($r->{json} || {})->{Certificate} // '';
my $chain_pem = ($r->{json} || {})->{CertificateChain} // '';
is(nl($chain_pem), nl($root_pem), 'the chain is the root certificate');
my $sub_file   = write_file('sub.pem', $sub_pem);
my $chain_file = write_file('chain.pem', $chain_pem);
cli_ok('import-certificate-authority-certificate --certificate fileb:// --certificate-chain fileb://',
    qw(acm-pca import-certificate-authority-certificate --certificate-authority-arn), $sub,
    '--certificate', "fileb://$sub_file", '--certificate-chain', "fileb://$chain_file");
$r = aws_cli(qw(acm-pca describe-certificate-authority --certificate-authority-arn), $sub);
my $d = (($r->{json} || {})->{CertificateAuthority}) || {};
ok(($d->{Status} // '') eq 'ACTIVE' && ($d->{Type} // '') eq 'SUBORDINATE', 'describe shows the SUBORDINATE ACTIVE');
$r = aws_cli(qw(acm-pca get-certificate-authority-certificate --certificate-authority-arn), $sub);
is(nl(($r->{json} || {})->{CertificateChain}), nl($root_pem), 'get-certificate-authority-certificate returns the chain');

my $v = openssl('verify', '-CAfile', $root_pem_file, $sub_file);
is($v->{rc}, 0, 'openssl verify -CAfile root.pem sub.pem') or diag($v->{out} . $v->{err});
like($v->{out}, qr/: OK$/m, '... says OK');
