# Several hosts on one Redis (issue 6): two private httpd instances (ACMPCA::Private) on
# two loopback ports, one store (the private redis-server of `make api-redis`, db 3) and
# one key-encryption key, as two hosts behind a load balancer would have them.
#  - an IdempotencyToken used on one host and retried on the other yields one certificate;
#  - 1,000 concurrent issuances spread over both (ACMPCA_MULTI_N; 5,000 for a soak) get
#    unique serials, and every ARN is retrievable from either host;
#  - a revocation on one host shows in the other's CRL and OCSP answers within seconds;
#  - both serve the same CRL bytes (the stored object), and the CRL job of both hosts
#    (every 2 s here) does not build the same CA's CRL at once (the cluster lock).
# Skips without ACMPCA_TEST_REDIS (scripts/redis-server.sh run sets it). Every wait is
# bounded; both servers are stopped when the test exits (ACMPCA::Private).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config http_get cdp_url ocsp_url crl_text crl_number crl_entries
                      ocsp_query wait_for);
use ACMPCA::Issue qw(serial_of issue_get);
use ACMPCA::Private;
use File::Spec::Functions qw(catfile);
use POSIX ();
use Time::HiRes ();

my $N = $ENV{ACMPCA_MULTI_N} // ($ENV{ACMPCA_SOAK} ? 5000 : 1000);
my $CLIENTS = 8;

plan skip_all => 'no private redis-server (make api-redis starts one)' unless $ENV{ACMPCA_TEST_REDIS};
plan tests => 21, need_module('acmpca');

# db 3 of the private server: the suite's own vhosts use db 0 and 1.
(my $store = $ENV{ACMPCA_TEST_REDIS}) =~ s{/\d+$}{/3};
my $redis_url = $store;

sub redis_cli {
    my $r = run_cmd(['redis-cli', '-u', $redis_url, @_], timeout => 30);
    my $out = $r->{out} // '';
    chomp $out;
    $out;
}
redis_cli('FLUSHDB');

# mod_watchdog is built into Debian's httpd: the CRL job runs on both hosts.
my $extra = "ACMPCACrlRefreshInterval 2\nACMPCAAuditReportInterval 0\nLogLevel info acmpca:debug";
my $A = ACMPCA::Private->new(name => 'hostA', store => $store, extra => $extra);
my $B = ACMPCA::Private->new(name => 'hostB', store => $store, extra => $extra);
# One key-encryption key for both: either host signs with any CA's key.
ACMPCA::Private::_write($B->kek_file, read_file($A->kek_file));
ok($A->start && $B->start, 'two httpd instances on two ports share one redis store')
    or BAIL_OUT('the private servers did not start');

my $rc = revocation_config(bucket => 'multi-crl');
my $CA = $A->with(sub { make_root_active(cn => uniq('Multi Root'), extra => { RevocationConfiguration => $rc }) });
ok($CA, 'an ACTIVE root CA with CRL and OCSP, made on host A') or BAIL_OUT('no CA');
my($ca_id) = $CA->{arn} =~ m{/([0-9a-f-]{36})$};
my($st, $j) = $B->api(DescribeCertificateAuthority => { CertificateAuthorityArn => $CA->{arn} });
is($st == 200 && $j->{CertificateAuthority}{Status}, 'ACTIVE', '... and host B describes it ACTIVE');

# Each host keeps Describe's rendered answer per CA document: a change on A shows on B.
my @seen;
for my $status (qw(DISABLED ACTIVE)) {
    $A->api(UpdateCertificateAuthority => { CertificateAuthorityArn => $CA->{arn}, Status => $status });
    ($st, $j) = $B->api(DescribeCertificateAuthority => { CertificateAuthorityArn => $CA->{arn} });
    push @seen, $st == 200 ? $j->{CertificateAuthority}{Status} : "HTTP $st";
}
is("@seen", 'DISABLED ACTIVE', '... and describes each status host A sets, at once');

# IssueCertificate on B starts from the CA as B's process last read it, without a store
# read, and stores the certificate only while the CA is at that version: a status A
# sets, or a CRL A turns off, shows in B's very next issuance.
my $hk = openssl_key_csr(subj => '/CN=hint.multi.example.com');
my %hint = (CertificateAuthorityArn => $CA->{arn}, Csr => b64($hk->{csr}),
            SigningAlgorithm => $CA->{signing}, Validity => { Type => 'DAYS', Value => 30 });
sub b_issues {    # over B's children and threads, each with its own last copy
    my %got;
    for (1 .. 8) {
        my($s, $r) = $B->api(IssueCertificate => \%hint);
        $got{ $s == 200 ? 'issued' : (($r && $r->{__type}) // "HTTP $s") }++;
    }
    join '+', sort keys %got;
}
my @rounds = (b_issues());
for my $status (qw(DISABLED ACTIVE)) {
    $A->api(UpdateCertificateAuthority => { CertificateAuthorityArn => $CA->{arn}, Status => $status });
    push @rounds, b_issues();
}
is("@rounds", 'issued InvalidStateException issued',
   '... IssueCertificate on B follows each status host A sets, at once');
my $no_crl = { %$rc, CrlConfiguration => { Enabled => JSON::PP::false() } };
my @cdps;
for my $conf ($no_crl, $rc) {
    $A->api(UpdateCertificateAuthority => { CertificateAuthorityArn => $CA->{arn},
                                            RevocationConfiguration => $conf });
    my $leaf = $B->with(sub { issue_get($CA->{arn}, $hk->{csr}, signing => $CA->{signing}) });
    push @cdps, !$leaf ? 'none issued' : cdp_url($leaf->{cert}) ? 'CDP' : 'no CDP';
}
is("@cdps", 'no CDP CDP', '... and the CRL configuration A sets, in the next certificate');

# ... and GetCertificate's (the certificate per serial, the chain per CA document): a
# renewed CA certificate imported on A is the chain B answers with at once.
sub same_pem { my($x, $y) = map { ($_ // '') =~ s/\s+//gr } @_; length $x && $x eq $y }
my $ck = openssl_key_csr(subj => '/CN=chain.multi.example.com');
my $cl = $A->with(sub { issue_get($CA->{arn}, $ck->{csr}, signing => $CA->{signing}) });
my $renewed = $A->with(sub { issue_get($CA->{arn}, $CA->{csr}, template => 'RootCACertificate/V1',
                                       signing => $CA->{signing}, validity => { Type => 'YEARS', Value => 5 }) });
my @chains;
for my $round (0, 1) {
    if ($round) {
        $A->with(sub { import_ca_cert($CA->{arn}, $renewed->{cert}) }) or last;
    }
    for (1 .. 8) {    # over B's children and threads
        my($s, $g) = $cl ? $B->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn},
                                                        CertificateArn => $cl->{arn} }) : (0);
        push @chains, $s == 200 && same_pem($g->{CertificateChain}, $round ? $renewed->{cert} : $CA->{cert})
                      && $g->{Certificate} eq $cl->{cert} ? 'ok' : "round $round: HTTP $s";
    }
}
is_deeply(\@chains, [('ok') x 16],
          '... and GetCertificate on B carries the chain of the CA certificate A imported last, at once');

my $k = openssl_key_csr(subj => '/CN=multi.example.com');
my $csr = b64($k->{csr});
my %issue = (CertificateAuthorityArn => $CA->{arn}, Csr => $csr,
             SigningAlgorithm => $CA->{signing}, Validity => { Type => 'DAYS', Value => 30 });
my $certs_key = "acmpca:{$ca_id}:certs";

# 1. One token, two hosts, one certificate.
my $before = redis_cli('ZCARD', $certs_key);
my $token = uniq('tok');
my($st1, $j1) = $A->api(IssueCertificate => { %issue, IdempotencyToken => $token });
my($st2, $j2) = $B->api(IssueCertificate => { %issue, IdempotencyToken => $token });
ok($st1 == 200 && $st2 == 200 && $j1->{CertificateArn}
   && $j1->{CertificateArn} eq ($j2->{CertificateArn} // ''),
   'an IdempotencyToken used on A and retried on B yields the same CertificateArn')
    or diag("A: $st1, B: $st2");
is(redis_cli('ZCARD', $certs_key) - $before, 1, '... and the store holds one new certificate');

# 2. Concurrent issuances over both hosts.
my $dir = tmpdir();
my @kids;
for my $c (0 .. $CLIENTS - 1) {
    my $pid = fork // BAIL_OUT("fork: $!");
    if (!$pid) {
        open my $out, '>', catfile($dir, "multi-$c.log") or POSIX::_exit(2);
        $out->autoflush(1);
        for (my $i = $c; $i < $N; $i += $CLIENTS) {
            my $host = $i % 2 ? $B : $A;
            my($s, $r);
            for (1 .. 5) {    # a 5xx is retried as an SDK would, with the same token
                ($s, $r) = $host->api(IssueCertificate => { %issue, IdempotencyToken => "m-$$-$i" });
                last if $s == 200 || ($s >= 400 && $s < 500);
                Time::HiRes::sleep(0.2);
            }
            printf $out "%d %d %s\n", $i, $s, ($r && $r->{CertificateArn}) // '-';
        }
        close $out;
        POSIX::_exit(0);    # not END: the parent owns the servers
    }
    push @kids, $pid;
}
my $deadline = time + 600;
for my $pid (@kids) {
    while (waitpid($pid, POSIX::WNOHANG()) == 0) {
        if (time > $deadline) { kill 'KILL', @kids; last }
        Time::HiRes::sleep(0.1);
    }
}
my(@arns, $fails);
for my $c (0 .. $CLIENTS - 1) {
    open my $in, '<', catfile($dir, "multi-$c.log") or next;
    while (<$in>) {
        my(undef, $s, $arn) = split;
        if ($s == 200 && $arn ne '-') { push @arns, $arn } else { $fails++ }
    }
}
is(scalar @arns, $N, "$N concurrent IssueCertificate over both hosts: all answered 200")
    or diag(($fails // 0) . ' failed');
my %serials = map { (serial_of($_) // '') => 1 } @arns;
is(scalar keys %serials, scalar @arns, '... with unique serials');
my $missing = 0;
for my $i (0 .. $#arns) {
    for my $host ($A, $B) {
        my($s) = $host->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn},
                                                CertificateArn => $arns[$i] });
        $missing++ unless $s == 200;
    }
}
is($missing, 0, '... and every ARN is retrievable from either host');

# 3. Revocation on A, seen by B's CRL and OCSP.
my $leaf = serial_of($j1->{CertificateArn});
my $leaf_pem = $A->with(sub { get_cert($CA->{arn}, $j1->{CertificateArn}) });
my $cdp = cdp_url($leaf_pem->{Certificate});
my($crl_path) = ($cdp // '') =~ m{^https?://[^/]+(/.*)$};
my($ocsp_path) = (ocsp_url($leaf_pem->{Certificate}) // '') =~ m{^https?://[^/]+(/.*)?$};
ok($crl_path, "the certificate names a CRL ($cdp)");
($st) = $A->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn},
                                       CertificateSerial => $leaf, RevocationReason => 'KEY_COMPROMISE' });
is($st, 200, 'RevokeCertificate on host A');
my $t0 = Time::HiRes::time();
my $on_b = wait_for(sub {
    my $res = http_get($B->endpoint . $crl_path);
    $res->code == 200 && crl_entries(crl_text($res->content))->{$leaf};
}, 20);
ok($on_b, sprintf("... host B's CRL lists it (%.1f s)", Time::HiRes::time() - $t0));
my $o = wait_for(sub {
    my $q = ocsp_query(issuer => $CA->{cert}, cert => $leaf_pem->{Certificate},
                       url => $B->endpoint . ($ocsp_path // '/'));
    ($q->{status} // '') eq 'revoked' ? $q : undef;
}, 20);
ok($o && $o->{verified}, "... and host B's OCSP responder answers revoked, signed");

# 4. The same CRL bytes from both (a refresh may land between two reads: compare pairs).
my $same = wait_for(sub {
    my $a = http_get($A->endpoint . $crl_path);
    my $b = http_get($B->endpoint . $crl_path);
    $a->code == 200 && $b->code == 200 && $a->content eq $b->content;
}, 15);
ok($same, 'hosts A and B serve the same CRL bytes');
my $b1 = http_get($B->endpoint . $crl_path);
is($b1->header('ETag') // '', http_get($A->endpoint . $crl_path)->header('ETag') // '-',
   '... with the same ETag');

# 5. The cluster lock: revocations on both hosts at once give CRLs whose numbers only
# grow, every revocation ends up on the CRL, and no two builds of the CA overlapped.
my @more = @arns[0 .. 5];
my @pids;
for my $n (0 .. $#more) {
    my $pid = fork // BAIL_OUT("fork: $!");
    if (!$pid) {
        my $host = $n % 2 ? $B : $A;
        $host->api(RevokeCertificate => { CertificateAuthorityArn => $CA->{arn},
            CertificateSerial => serial_of($more[$n]), RevocationReason => 'SUPERSEDED' });
        POSIX::_exit(0);
    }
    push @pids, $pid;
}
waitpid($_, 0) for @pids;
my $all = wait_for(sub {
    my $res = http_get($A->endpoint . $crl_path);
    my $e = $res->code == 200 ? crl_entries(crl_text($res->content)) : {};
    !grep { !$e->{ serial_of($_) } } @more;
}, 30);
ok($all, 'revocations on both hosts at once: all of them on the CRL');

# The build log lines (ACMPCA0702): every CRL number was built once, on one host.
sub builds {
    my $log = shift->error_log;
    my @b;
    while ($log =~ /ACMPCA0702: CA \Q$ca_id\E: CRL (\d+) published .*?\(.*?, ([\d.]+) s\)/g) {
        push @b, [$1, $2];
    }
    @b;
}
my @ba = builds($A);
my @bb = builds($B);
my $waits = () = ($A->error_log . $B->error_log) =~ /ACMPCA0704: CA \Q$ca_id\E/g;
ok(@ba + @bb >= 2, sprintf('CRLs were built on the hosts (A: %d, B: %d; %d left to the lock holder)',
                           scalar @ba, scalar @bb, $waits));
my %nums;
$nums{ $_->[0] }++ for @ba, @bb;
ok(!grep({ $_ > 1 } values %nums), '... each CRL number once across both hosts');

$A->stop;
$B->stop;
redis_cli('FLUSHDB');
