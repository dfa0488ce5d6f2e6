# Crash safety (issue 8): `apachectl graceful` again and again while clients issue and
# read certificates. Every request gets its answer -- those in flight when a restart
# comes complete, a slow CreateCertificateAuthority (an RSA-4096 key) included -- and
# each new generation serves the same state: the CAs, their certificates, the CRL.
#
# A private httpd (ACMPCA::Private). Bounded: ACMPCA_GRACEFUL_ROUNDS restarts (10;
# `make soak` sets ACMPCA_SOAK for 50).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Revoke qw(revocation_config crl_number);
use ACMPCA::Private;
use File::Spec::Functions qw(catfile);
use POSIX ();
use Time::HiRes ();

# Private servers with a sqlite store of their own: once per `make test`, not again in
# the redis run (make api-redis), which would test the same thing.
if ($ENV{ACMPCA_TEST_STORE}) {
    plan skip_all => 'runs in the sqlite pass of the suite';
}

my $ROUNDS = $ENV{ACMPCA_GRACEFUL_ROUNDS} // ($ENV{ACMPCA_SOAK} ? 50 : 10);
my $CLIENTS = 3;

plan tests => 12, need_module('acmpca');

my $s = ACMPCA::Private->new(name => 'graceful', mpm => $ENV{ACMPCA_TEST_MPM} // 'event');
ok($s->start, 'a private httpd answers') or BAIL_OUT('no private server');
my $CA = $s->with(sub { make_root_active(cn => uniq('Graceful Root'),
    extra => { RevocationConfiguration => revocation_config(bucket => 'graceful-crl') }) });
ok($CA, 'an ACTIVE root CA') or BAIL_OUT('no CA');
my($ca_id) = $CA->{arn} =~ m{/([0-9a-f-]{36})$};
my $k = openssl_key_csr(subj => '/CN=graceful.example.com');
my $csr = b64($k->{csr});
my $dir = tmpdir();
my $stop = catfile($dir, 'stop');

sub snapshot {
    my(undef, $d) = $s->api(DescribeCertificateAuthority => { CertificateAuthorityArn => $CA->{arn} });
    my(undef, $c) = $s->api(GetCertificateAuthorityCertificate => { CertificateAuthorityArn => $CA->{arn} });
    my(undef, $l) = $s->api(ListCertificateAuthorities => { MaxResults => 100 });
    return { describe => $d, certificate => $c, list => [ map { $_->{Arn} } @{ ($l || {})->{CertificateAuthorities} || [] } ] };
}
my $before = snapshot();

# A client: issue, then read back what it issued; every answer is one line of its log.
sub client {
    my $n = shift;
    open my $out, '>', catfile($dir, "client-$n.log") or POSIX::_exit(2);
    $out->autoflush(1);
    while (!-e $stop) {
        my($st, $j, $res) = $s->api(IssueCertificate => { CertificateAuthorityArn => $CA->{arn}, Csr => $csr,
            SigningAlgorithm => 'SHA256WITHECDSA', Validity => { Type => 'DAYS', Value => 7 } });
        my $why = $res ? ($res->header('Client-Warning') // ($j && $j->{__type}) // '') : 'no response';
        printf $out "ISSUE %d %s %s\n", $st, ($j && $j->{CertificateArn}) // '-', $why =~ s/\s+/_/gr || '-';
        next unless $st == 200;
        ($st, $j, $res) = $s->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $j->{CertificateArn} });
        printf $out "GET %d\n", $st;
    }
    close $out;
    POSIX::_exit(0);
}

my @pids;
for my $n (1 .. $CLIENTS) {
    my $pid = fork // die "fork: $!";
    client($n) unless $pid;
    push @pids, $pid;
}

# A slow request in flight during one of the restarts: an RSA-4096 CA takes a while.
my $slow = catfile($dir, 'slow.log');
my $slow_pid = fork // die "fork: $!";
unless ($slow_pid) {
    my($st, $j) = $s->api(CreateCertificateAuthority => { CertificateAuthorityType => 'ROOT',
        CertificateAuthorityConfiguration => ca_config(key => 'RSA_4096', cn => 'Slow during graceful') });
    open my $o, '>', $slow or POSIX::_exit(2);
    printf $o "%d %s\n", $st, ($j && $j->{CertificateAuthorityArn}) // '-';
    close $o;
    POSIX::_exit(0);
}

my $parent = $s->pid;
my $restarts = 0;
for my $round (1 .. $ROUNDS) {
    Time::HiRes::sleep($round == 1 ? 0.2 : 0.4 + rand 0.8);
    $restarts++ if $s->graceful;
}
waitpid $slow_pid, 0;
Time::HiRes::sleep(1);
open my $fh, '>', $stop or die $!;
close $fh;
my $deadline = time + 120;
for my $pid (@pids) {
    while (waitpid($pid, POSIX::WNOHANG()) == 0 && time < $deadline) { Time::HiRes::sleep(0.1) }
    kill 'KILL', $pid if time >= $deadline;
}
is($restarts, $ROUNDS, "$ROUNDS graceful restarts (httpd -k graceful) were sent");
ok($s->wait_up(60) && ($s->pid // 0) == $parent, 'the same parent answers afterwards');

my(%count, @bad, @arns);
for my $n (1 .. $CLIENTS) {
    open my $in, '<', catfile($dir, "client-$n.log") or next;
    while (<$in>) {
        my($what, $st, $arn, $why) = split ' ';
        $count{$what}++;
        push @bad, $_ unless $st == 200;
        push @arns, $arn if $what eq 'ISSUE' && $st == 200;
    }
}
ok(($count{ISSUE} // 0) > 10, ($count{ISSUE} // 0) . ' IssueCertificate and ' . ($count{GET} // 0) . ' GetCertificate calls across the restarts');
ok(!@bad, 'every one of them answered 200: no request was dropped by a restart')
    or diag(scalar(@bad) . " failed, e.g.:\n" . join '', @bad[0 .. ($#bad < 4 ? $#bad : 4)]);

my $slow_line = -e $slow ? read_file($slow) : '';
like($slow_line, qr/^200 arn:aws:acm-pca:/, 'a CreateCertificateAuthority in flight during a restart completed');

# The new generation serves the same state.
my $after = snapshot();
is_deeply($after->{describe}, $before->{describe}, 'the CA is described as before');
is_deeply($after->{certificate}, $before->{certificate}, 'its certificate is the same');
my %listed = map { $_ => 1 } @{ $after->{list} };
ok($listed{ $CA->{arn} } && (!$slow_line || $slow_line !~ /^200 (\S+)/ || $listed{$1}),
   'the list holds the CA, and the one created during a restart');
my @gone = grep { my($st) = $s->api(GetCertificate => { CertificateAuthorityArn => $CA->{arn}, CertificateArn => $_ }); $st != 200 }
    @arns[0 .. ($#arns < 30 ? $#arns : 30)];
ok(!@gone, 'certificates issued between restarts are served by the last generation') or diag("gone: @gone");

my $log = $s->error_log;
# A restart asked for while the previous one is still under way may be merged into it.
my $graceful = mpm_log_re('graceful');
my $seen = () = $log =~ /$graceful/g;
my @crash = grep { /exit signal|Segmentation|double free|AddressSanitizer/ } split /\n/, $log;
ok($seen >= 1 && $seen <= $ROUNDS && !@crash, "the log shows $seen graceful restarts and no crashed child")
    or diag(join "\n", @crash[0 .. ($#crash < 5 ? $#crash : 5)]);
$s->stop;
