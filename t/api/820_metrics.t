# The Prometheus counters are exact across httpd's child processes: several clients
# (forked) make a known mix of requests, served by more than one child (the error log's
# ACMPCA0800 lines name the pid of each), and /metrics moves by exactly that mix.
# Also: certificates issued, throttled requests, the latency histogram's consistency.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;
use File::Spec::Functions qw(catfile);
use LWP::UserAgent ();
use POSIX ();
use JSON::PP ();
use Time::HiRes ();

plan tests => 22, need_module('acmpca');

my $V = 'acmpca_visible';
my $ua = LWP::UserAgent->new(timeout => 60, keep_alive => 0);
my $ERROR_LOG = catfile(Apache::Test::vars('t_logs'), 'error_log');
my $NO_CA = 'arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/00000000-0000-4000-8000-000000000000';
my $CLIENTS = 4;

sub scrape {
    my $res = $ua->get(endpoint($V) . '/metrics');
    my %m;
    for (split /\n/, $res->content // '') {
        next if /^#/;
        my($k, $v) = /^(\S+) (\S+)$/ or next;
        $m{$k} = $v;
    }
    \%m;
}

sub delta { my($a, $b, $k) = @_; ($b->{$k} // 0) - ($a->{$k} // 0) }
sub req { sprintf 'acmpca_requests_total{operation="%s",outcome="%s"}', @_ }

# A root to issue from, made before the first scrape.
my $root = make_root_active(cn => uniq('Metrics Root'), extra => { RevocationConfiguration => {
    CrlConfiguration => { Enabled => JSON::PP::true, S3BucketName => 'metrics-crls' } } });
ok($root, 'a root CA to issue from') or BAIL_OUT('no CA');
my $leaf = openssl_key_csr(subj => '/CN=metrics leaf');

# What each client does, and the request IDs it saw.
sub client_round {
    my($out) = @_;
    my @ids;
    my $keep = sub { push @ids, $_[0]->header('x-amzn-RequestId') // 'none' };
    for (1 .. 5) { $keep->((api(ListCertificateAuthorities => {}, -module => $V))[2]) }
    for (1 .. 3) { $keep->((api(DescribeCertificateAuthority => { CertificateAuthorityArn => $NO_CA }, -module => $V))[2]) }
    for (1 .. 2) { $keep->(raw_post('ACMPrivateCA.NoSuchOperation', '{}', -module => $V)) }
    $keep->((api(IssueCertificate => {
        CertificateAuthorityArn => $root->{arn}, Csr => b64($leaf->{csr}), SigningAlgorithm => 'SHA256WITHECDSA',
        TemplateArn => 'arn:aws:acm-pca:::template/EndEntityCertificate/V1',
        Validity => { Type => 'DAYS', Value => 1 } }, -module => $V))[2]);
    open my $fh, '>', $out or die "$out: $!";
    print $fh "$_\n" for @ids;
    close $fh;
}
my %PER_ROUND = (
    req('ListCertificateAuthorities', 'Success')                  => 5,
    req('DescribeCertificateAuthority', 'ResourceNotFoundException') => 3,
    req('unknown', 'UnknownOperationException')                  => 2,
    req('IssueCertificate', 'Success')                            => 1,
);
my $PER_CLIENT = 11;

# The pid of the child that served each request, from the ACMPCA0800 lines (written at
# log_transaction, just after the response: wait for them a little).
sub pids_of {
    my(@ids) = @_;
    my %want = map { $_ => 1 } @ids;
    my %pid;
    my $deadline = Time::HiRes::time() + 15;
    while (Time::HiRes::time() < $deadline) {
        open my $fh, '<', $ERROR_LOG or die "$ERROR_LOG: $!";
        while (<$fh>) {
            next unless /\[pid (\d+)[\]:].*ACMPCA0800: request ([0-9a-f-]{36}):/;
            $pid{$2} = $1 if $want{$2};
        }
        close $fh;
        last if keys %pid == keys %want;
        Time::HiRes::sleep(0.2);
    }
    \%pid;
}

my $before = scrape();
ok(exists $before->{acmpca_certificates_issued_total}, 'metrics before the run');

# Rounds of $CLIENTS parallel clients until the requests were served by at least two
# children (almost always the first round; bounded).
my($rounds, @ids, $pids) = (0);
while ($rounds < 5) {
    $rounds++;
    my @kids;
    for my $c (1 .. $CLIENTS) {
        my $out = catfile(tmpdir(), "ids-$rounds-$c");
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            eval { client_round($out) };
            POSIX::_exit($@ ? 1 : 0);
        }
        push @kids, [$pid, $out];
    }
    for my $k (@kids) {
        waitpid $k->[0], 0;
        push @ids, grep { length } split /\n/, read_file($k->[1]);
    }
    $pids = pids_of(@ids);
    my %distinct = map { $_ => 1 } values %$pids;
    last if keys %distinct >= 2;
}
my $n = $rounds * $CLIENTS;
is(scalar(@ids), $n * $PER_CLIENT, "every client made its $PER_CLIENT requests ($rounds round(s))");
is(scalar(grep { /^[0-9a-f-]{36}$/ } @ids), scalar(@ids), 'each with an x-amzn-RequestId');
is(scalar(keys %$pids), scalar(@ids), 'each has its ACMPCA0800 line in the error log');
my %distinct = map { $_ => 1 } values %$pids;
cmp_ok(scalar(keys %distinct), '>=', 2, 'served by more than one child process')
    or diag('pids: ' . join(' ', sort keys %distinct));

my $after = scrape();
for my $k (sort keys %PER_ROUND) {
    is(delta($before, $after, $k), $PER_ROUND{$k} * $n, "$k grew by " . $PER_ROUND{$k} * $n);
}
my $total = 0;
$total += delta($before, $after, $_) for grep { /^acmpca_requests_total\{/ } keys %$after;
is($total, $n * $PER_CLIENT, 'and nothing else was counted');
is(delta($before, $after, 'acmpca_certificates_issued_total'), $n, 'acmpca_certificates_issued_total grew by the issued certificates');

my $h = 'acmpca_request_duration_seconds';
my $op = 'operation="ListCertificateAuthorities"';
is(delta($before, $after, "${h}_count{$op}"), 5 * $n, 'the histogram counted every ListCertificateAuthorities');
is(delta($before, $after, "${h}_bucket{$op,le=\"+Inf\"}"), 5 * $n, '... in its +Inf bucket');
my @cum = map { $after->{"${h}_bucket{$op,le=\"$_\"}"} // 0 }
          qw(0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf);
ok(!grep({ $cum[$_] < $cum[$_ - 1] } 1 .. $#cum), 'the buckets are cumulative') or diag("@cum");
cmp_ok(delta($before, $after, "${h}_sum{$op}"), '>', 0, 'and the sum grew');

# Throttled requests (acmpca_throttle: ListCertificateAuthorities 1/s, burst 2).
$before = scrape();
my $throttled = 0;
for (1 .. 6) {
    my(undef, undef, $res) = call_as(C => ListCertificateAuthorities => {}, -module => 'acmpca_throttle');
    $throttled++ if ($res->content // '') =~ /ThrottlingException/;
}
$after = scrape();
ok($throttled >= 1, "some calls were throttled ($throttled)");
is(delta($before, $after, 'acmpca_throttled_requests_total'), $throttled,
   'acmpca_throttled_requests_total counts them');

# Revocations, and the CRL gauges of the CA (read from the store at each scrape).
$before = scrape();
my(undef, $issued) = api(IssueCertificate => {
    CertificateAuthorityArn => $root->{arn}, Csr => b64($leaf->{csr}), SigningAlgorithm => 'SHA256WITHECDSA',
    TemplateArn => 'arn:aws:acm-pca:::template/EndEntityCertificate/V1',
    Validity => { Type => 'DAYS', Value => 1 } }, -module => $V);
my($serial) = (($issued || {})->{CertificateArn} // '') =~ m{/certificate/([0-9a-f]+)$};
$serial = '0' . $serial if length($serial // '') % 2;
my(undef, undef, $rev) = api(RevokeCertificate => { CertificateAuthorityArn => $root->{arn},
    CertificateSerial => join(':', ($serial // '') =~ /(..)/g), RevocationReason => 'SUPERSEDED' }, -module => $V);
is_api_ok($rev, 'a certificate revoked');
# Counted at log_transaction, just after the response went out: wait for it a little.
for (1 .. 50) {
    $after = scrape();
    last if delta($before, $after, 'acmpca_certificates_revoked_total') >= 1;
    Time::HiRes::sleep(0.1);
}
is(delta($before, $after, 'acmpca_certificates_revoked_total'), 1, 'acmpca_certificates_revoked_total grew by 1');
my($ca_id) = $root->{arn} =~ m{/([0-9a-f-]{36})$};
my $age = $after->{"acmpca_crl_age_seconds{ca=\"$ca_id\"}"};
ok(defined $age && $age >= 0 && $age < 600, "acmpca_crl_age_seconds of the CA: its CRL is fresh (@{[ $age // 'none' ]} s)");
is($after->{"acmpca_crl_entries{ca=\"$ca_id\"}"}, 1, 'acmpca_crl_entries of the CA: 1');
