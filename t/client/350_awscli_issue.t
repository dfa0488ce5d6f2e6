# The real awscli issuing end-entity certificates (PCA-API.md §5.5, §5.6): issue-certificate
# with fileb:// CSRs in PEM and DER, --api-passthrough file://, --validity and
# --validity-not-before shorthand, --idempotency-token; wait certificate-issued;
# get-certificate; the AWS errors as awscli prints them. Each certificate passes the
# lint and openssl verify -x509_strict against the chain.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Issue;

plan tests => 22, need_module('acmpca');

sub cli_err {
    my($type, $name, @args) = @_;
    my $r = aws_cli(@args);
    ok($r->{rc} != 0 && $r->{err} =~ /An error occurred \(\Q$type\E\) when calling the \w+ operation/, "$name -> $type")
        or diag("rc=$r->{rc}\n$r->{err}");
    $r;
}

my $R = make_root_active(key => 'RSA_2048', cn => uniq('awscli Issue Root'));
ok($R, 'an ACTIVE RSA_2048 root');
my $ca = $R ? $R->{arn} : '';
my $k = make_csr(key => 'ec:P-384', subj => '/O=awscli/CN=awscli leaf', ext => ['subjectAltName=DNS:cli.example']);
my $pem_csr = write_file('cli.csr', $k->{csr});
my $der_csr = write_file('cli.der', $k->{der});
my @lint;

# get($cert_arn) -> {cert, chain} through get-certificate
sub get {
    my $arn = shift;
    cli_ok('aws acm-pca wait certificate-issued', qw(acm-pca wait certificate-issued --certificate-authority-arn), $ca,
           '--certificate-arn', $arn);
    my $r = cli_ok('aws acm-pca get-certificate', qw(acm-pca get-certificate --certificate-authority-arn), $ca,
                   '--certificate-arn', $arn);
    my $j = $r->{json} || {};
    { cert => $j->{Certificate}, chain => $j->{CertificateChain}, issuer => $R->{cert} };
}

# ---- PEM CSR, default template, idempotency token
my $token = uniq('cli-tok');
my $r = cli_ok('issue-certificate --csr fileb://cli.csr (default template)', qw(acm-pca issue-certificate
    --certificate-authority-arn), $ca, '--csr', "fileb://$pem_csr", qw(--signing-algorithm SHA384WITHRSA),
    '--validity', 'Value=90,Type=DAYS', '--idempotency-token', $token);
my $arn1 = ($r->{json} || {})->{CertificateArn} // '';
like($arn1, CERT_ARN_RE, 'it prints the CertificateArn');
$r = aws_cli(qw(acm-pca issue-certificate --certificate-authority-arn), $ca, '--csr', "fileb://$pem_csr",
             qw(--signing-algorithm SHA384WITHRSA), '--validity', 'Value=90,Type=DAYS', '--idempotency-token', $token);
is(($r->{json} || {})->{CertificateArn}, $arn1, 'the same --idempotency-token: the same CertificateArn');
my $c1 = get($arn1);
$c1->{template} = 'EndEntityCertificate/V1';
$c1->{signing} = 'SHA384WITHRSA';
push @lint, $c1;
is(($c1->{chain} // '') =~ s/\n*\z/\n/r, ($R->{cert} // 'x') =~ s/\n*\z/\n/r, 'CertificateChain is the root certificate');

# ---- DER CSR, API passthrough from a file, validity shorthand with a NotBefore
my $api = write_file('api.json', json_encode({ Subject => { CommonName => 'cli api', Organization => 'awscli' },
    Extensions => { SubjectAlternativeNames => [{ DnsName => 'api.cli.example' }, { IpAddress => '192.0.2.77' }],
                    CertificatePolicies => [{ CertPolicyId => '2.23.140.1.2.2' }] } }));
my $nb = time - 600;
$r = cli_ok('issue-certificate --csr fileb://cli.der --api-passthrough file://api.json --validity-not-before',
    qw(acm-pca issue-certificate --certificate-authority-arn), $ca, '--csr', "fileb://$der_csr",
    qw(--signing-algorithm SHA256WITHRSA --template-arn), tarn('EndEntityServerAuthCertificate_APIPassthrough'),
    '--api-passthrough', "file://$api", '--validity', 'Value=6,Type=MONTHS', '--validity-not-before', "Value=$nb,Type=ABSOLUTE");
my $c2 = get(($r->{json} || {})->{CertificateArn} // '');
$c2->{template} = 'EndEntityServerAuthCertificate_APIPassthrough/V1';
push @lint, $c2;
my $text = x509_text($c2->{cert}) // '';
like($text, qr/Subject: O = awscli, CN = cli api/, 'the API subject');
like($text, qr/DNS:api\.cli\.example, IP Address:192\.0\.2\.77/, 'the API SAN');
is((cert_dates($c2->{cert} // ''))[0], $nb, '--validity-not-before: NotBefore exactly as given');

# ---- errors as awscli shows them
my $bad = write_file('bad.csr', csr_variant($k->{csr}, 'trailing'));
cli_err('MalformedCSRException', 'a CSR with trailing garbage', qw(acm-pca issue-certificate --certificate-authority-arn), $ca,
        '--csr', "fileb://$bad", qw(--signing-algorithm SHA256WITHRSA), '--validity', 'Value=1,Type=DAYS');
$r = cli_err('InvalidArgsException', 'SHA256WITHECDSA on an RSA CA', qw(acm-pca issue-certificate --certificate-authority-arn), $ca,
             '--csr', "fileb://$pem_csr", qw(--signing-algorithm SHA256WITHECDSA), '--validity', 'Value=1,Type=DAYS');
like($r->{err}, qr/Valid signing algorithms are: SHA256WITHRSA, SHA384WITHRSA, SHA512WITHRSA\./, '... with AWS\'s message');
cli_err('InvalidArnException', 'get-certificate with the ARNs swapped', qw(acm-pca get-certificate --certificate-authority-arn), $arn1,
        '--certificate-arn', $ca);
cli_err('ValidationException', 'a validity beyond the CA', qw(acm-pca issue-certificate --certificate-authority-arn), $ca,
        '--csr', "fileb://$pem_csr", qw(--signing-algorithm SHA256WITHRSA), '--validity', 'Value=30,Type=YEARS');

my $l = lint_batch(\@lint);
ok(!@{ $l->[$_]{errors} }, "certificate $_ passes the lint") or diag(join "\n", @{ $l->[$_]{errors} }) for 0 .. 1;
verify_strict_ok($_, 'openssl verify -x509_strict with the chain') for $c1, $c2;
