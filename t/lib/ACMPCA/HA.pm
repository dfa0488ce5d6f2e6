# Licensed under the Apache License, Version 2.0.
# Load and checks for the high-availability tests (t/ha): clients that issue and revoke
# through a private httpd (ACMPCA::Private) while the test breaks its Redis, retrying a
# 5xx as an AWS SDK would (same IdempotencyToken, backoff), and what they saw.
#
#   my $load = ACMPCA::HA::load_start($server, $ca, clients => 4);
#   ... break redis, repair it ...
#   my $res = ACMPCA::HA::load_stop($load);   # [{op, status, id, type, errs => [...]}]
package ACMPCA::HA;

use strict;
use warnings;

use Exporter 'import';
use File::Spec::Functions qw(catfile);
use File::Temp ();
use POSIX ();
use Time::HiRes ();

use Apache::Test ();
use ACMPCA::Test;
use ACMPCA::Issue qw(serial_of);
use ACMPCA::Revoke qw(http_get crl_number);

our @EXPORT_OK = qw(load_start load_stop issued revoked odd_errors crash_lines crl_watch_start
                    crl_watch_stop ctl outage_ok issued_ok);

my $SCRIPTS = catfile(Apache::Test::vars('top_dir'), 'scripts');

# ctl($script, @args) -> (exit status, stdout): scripts/redis-server.sh or redis-sentinel.sh.
sub ctl {
    my($script, @args) = @_;
    my $r = run_cmd(['sh', catfile($SCRIPTS, $script), @args], timeout => 120);
    Test::More::diag("$script @args: $r->{err}") if $r->{rc};
    chomp(my $out = $r->{out} // '');
    ($r->{rc}, $out);
}

# A call retried on 5xx and dropped connections for up to $patience seconds: (status,
# json, [every failed try as "status:__type"]).
sub _retrying {
    my($srv, $op, $body, $patience) = @_;
    my $deadline = Time::HiRes::time() + $patience;
    my $pause = 0.1;
    my @errs;
    while (1) {
        my($s, $j) = $srv->api($op, $body);
        $s //= 0;
        return ($s, $j, \@errs) if $s >= 200 && $s < 500;
        push @errs, sprintf '%d:%s', $s, ($j && $j->{__type}) // '-';
        return ($s, $j, \@errs) if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($pause);
        $pause = $pause * 2 > 1 ? 1 : $pause * 2;
    }
}

sub _client {
    my($srv, $ca, $issue, $stop, $out, $patience) = @_;
    my $n = 0;
    until (-e $stop) {
        my $token = "ha-$$-" . $n++;
        my($s, $j, $errs) = _retrying($srv, IssueCertificate => { %$issue, IdempotencyToken => $token },
                                      $patience);
        my $arn = ($j && $j->{CertificateArn}) // '-';
        print $out join(' ', 'issue', $s, $arn, (($j && $j->{__type}) // '-'), @$errs), "\n";
        next unless $s == 200 && $n % 3 == 0;
        my $serial = serial_of($arn);
        ($s, $j, $errs) = _retrying($srv, RevokeCertificate => { CertificateAuthorityArn => $ca->{arn},
            CertificateSerial => $serial, RevocationReason => 'KEY_COMPROMISE' }, $patience);
        print $out join(' ', 'revoke', $s, $serial, (($j && $j->{__type}) // '-'), @$errs), "\n";
    }
}

# load_start($server, $ca, clients => 4, patience => 30): the clients run until load_stop.
sub load_start {
    my($srv, $ca, %o) = @_;
    my $dir = File::Temp::tempdir('acmpca-ha-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $k = openssl_key_csr(subj => '/CN=ha.example.com');
    my %issue = (CertificateAuthorityArn => $ca->{arn}, Csr => b64($k->{csr}),
                 SigningAlgorithm => $ca->{signing}, Validity => { Type => 'DAYS', Value => 30 });
    my $load = { dir => $dir, stop => catfile($dir, 'stop'), pids => [],
                 patience => $o{patience} // 30 };
    for my $c (1 .. ($o{clients} // 4)) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            open my $out, '>', catfile($dir, "client-$c.log") or POSIX::_exit(2);
            $out->autoflush(1);
            _client($srv, $ca, \%issue, $load->{stop}, $out, $load->{patience});
            close $out;
            POSIX::_exit(0);    # not END: the parent owns the servers
        }
        push @{ $load->{pids} }, $pid;
    }
    $load;
}

sub _reap {
    my($pids, $secs) = @_;
    my $deadline = time + $secs;
    for my $pid (@$pids) {
        while (waitpid($pid, POSIX::WNOHANG()) == 0) {
            if (time > $deadline) { kill 'KILL', @$pids; waitpid($pid, 0); last }
            Time::HiRes::sleep(0.1);
        }
    }
}

# Stop the clients (each finishes its request, retries included) and read their logs.
sub load_stop {
    my $load = shift;
    if (open my $fh, '>', $load->{stop}) {
        close $fh;
    }
    _reap($load->{pids}, 2 * $load->{patience} + 30);
    my @res;
    for my $f (glob catfile($load->{dir}, 'client-*.log')) {
        open my $in, '<', $f or next;
        while (<$in>) {
            my($op, $s, $id, $type, @errs) = split;
            push @res, { op => $op, status => $s, id => $id, type => $type, errs => \@errs };
        }
    }
    \@res;
}

# The ARNs of the certificates whose IssueCertificate answered 200.
sub issued { map { $_->{id} } grep { $_->{op} eq 'issue' && $_->{status} == 200 } @{ $_[0] } }

# The serials whose revocation was acknowledged (200, or already revoked by a try whose
# answer was a 5xx).
sub revoked {
    map { $_->{id} } grep { $_->{op} eq 'revoke'
        && ($_->{status} == 200 || $_->{type} eq 'RequestAlreadyProcessedException') } @{ $_[0] };
}

# Failed tries that were not an AWS-style 5xx a SDK retries.
sub odd_errors {
    grep { !/^(?:500:InternalFailure|503:ServiceUnavailable)$/ } map { @{ $_->{errs} } } @{ $_[0] };
}

# outage_ok($res, %o): two tests on what the clients of one outage saw: AWS-style 5xx
# answers only (at least one with errors => 1), and every request ended well at last.
sub outage_ok {
    my($res, %o) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @errs = map { @{ $_->{errs} } } @$res;
    my @odd = odd_errors($res);
    Test::More::ok((!$o{errors} || @errs) && !@odd,
                   sprintf('... the clients got %d AWS-style 5xx answers meanwhile, nothing else', scalar @errs))
        or Test::More::diag('other errors: ' . join(', ', @odd[0 .. ($#odd > 9 ? 9 : $#odd)]));
    my @bad = grep { $_->{status} != 200 && $_->{type} ne 'RequestAlreadyProcessedException' } @$res;
    Test::More::ok(!@bad, sprintf('... %severy one of %d requests ended well', $o{when} // '', scalar @$res))
        or Test::More::diag(join "\n", map { "$_->{op} $_->{status} $_->{type}" } @bad[0 .. ($#bad > 9 ? 9 : $#bad)]);
}

# issued_ok(\@results) -> the ARNs issued with a 200; two tests: more than 20 of them, and
# no serial twice.
sub issued_ok {
    my $results = shift;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my @arns = issued($results);
    my %serials;
    $serials{ serial_of($_) // '' }++ for @arns;
    Test::More::ok(@arns > 20, scalar(@arns) . ' certificates issued with a 200');
    Test::More::is(scalar(grep { $_ > 1 } values %serials), 0, '... no serial used twice');
    @arns;
}

# Lines of an error log that tell of a crashed worker.
sub crash_lines {
    grep { /exit signal|Segmentation|AH00052|double free|stack smashing/ } split /\n/, shift;
}

# A child that fetches $url every 0.3 s and notes each CRL number served, in order.
sub crl_watch_start {
    my $url = shift;
    my $file = catfile(File::Temp::tempdir('acmpca-crl-XXXXXX', TMPDIR => 1, CLEANUP => 1), 'numbers');
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open my $out, '>', $file or POSIX::_exit(2);
        $out->autoflush(1);
        while (1) {
            my $res = eval { http_get($url) };
            my $n = $res && $res->code == 200 ? crl_number($res->content) : undef;
            print $out "$n\n" if defined $n;
            Time::HiRes::sleep(0.3);
        }
    }
    { pid => $pid, file => $file };
}

# Stop the watcher; the numbers it saw, in order.
sub crl_watch_stop {
    my $w = shift;
    kill 'TERM', $w->{pid};
    _reap([$w->{pid}], 10);
    open my $in, '<', $w->{file} or return ();
    map { chomp; $_ } <$in>;
}

1;
