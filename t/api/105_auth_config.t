# The identity directives are checked when the configuration is read
# (ACMPCAAuthentication, ACMPCAThrottle, the Policy and User members of the
# credentials file); sigv4 without a credentials file stops httpd from starting.
# Each case runs its own httpd binary on a minimal configuration (as 010 does).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use File::Spec::Functions qw(catfile);
use IO::Socket::INET;

my $tmp = tmpdir();
sub put { my($n, $c) = @_; my $p = catfile $tmp, $n; open my $fh, '>:raw', $p or die $!; print $fh $c; close $fh; chmod 0600, $p; $p }
my $kek = put('auth.kek', join '', map { chr int rand 256 } 1 .. 32);
my $entry = '"AccessKeyId":"AKIDCONFTEST00000001","SecretAccessKey":"conf-test-secret","AccountId":"123456789012"';
my $good = put('auth-good.json', qq({"Credentials":[{$entry,"Policy":{"Statement":{"Effect":"Allow","Action":"acm-pca:List*","Resource":"*"}}},)
    . qq({"User":"carol","AccountId":"123456789012"}]}));
put('auth-bad-policy.json', qq({"Credentials":[{$entry,"Policy":{"Statement":{"Effect":"Allow","Action":"acm-pca:Lisst","Resource":"*"}}}]}));
put('auth-policy-principal.json', qq({"Credentials":[{$entry,"Policy":{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}}]}));
put('auth-two-users.json', qq({"Credentials":[{"User":"u","AccountId":"123456789012"},{"User":"u","AccountId":"123456789012"}]}));

my @bad = (
    # [ directives, words the message must contain ]
    ['ACMPCAAuthentication kerberos', qr/ACMPCAAuthentication.*kerberos.*sigv4, httpd or none/],
    ['ACMPCAThrottle IssueCertificates 5', qr/ACMPCAThrottle.*IssueCertificates/],
    ['ACMPCAThrottle IssueCertificate fast', qr/ACMPCAThrottle.*fast/],
    ['ACMPCAThrottle IssueCertificate 0', qr/ACMPCAThrottle.*'0'/],
    ['ACMPCAThrottle IssueCertificate 5 0.5', qr/ACMPCAThrottle.*burst/],
    ["ACMPCACredentialsFile $tmp/auth-bad-policy.json", qr/Policy.*acm-pca:Lisst/],
    ["ACMPCACredentialsFile $tmp/auth-policy-principal.json", qr/Policy.*Principal/],
    ["ACMPCACredentialsFile $tmp/auth-two-users.json", qr/user u appears twice/],
);

plan tests => 2 * @bad + 3, need_module('acmpca');

my $httpd  = Apache::Test::vars('httpd');
my $moddir = Apache::Test::config()->apxs('LIBEXECDIR');
my $so     = Apache::Test::vars('acmpca_module');
my $n = 0;

sub conf_for {
    my($directives, %o) = @_;
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1) or die $!;
    my $port = $s->sockport;
    close $s;
    ++$n;
    my $f = catfile $tmp, "auth-httpd-$n.conf";
    open my $fh, '>', $f or die $!;
    print $fh join "\n",
        "ServerRoot $tmp", 'ServerName 127.0.0.1',
        "LoadModule mpm_event_module $moddir/mod_mpm_event.so",
        "LoadModule authz_core_module $moddir/mod_authz_core.so",
        "LoadModule acmpca_module $so",
        "Listen 127.0.0.1:$port", "PidFile $tmp/auth-httpd-$n.pid", "ErrorLog $tmp/auth-error-$n.log",
        "DefaultRuntimeDir $tmp",
        ($> == 0 ? ('User www-data', 'Group www-data') : ()),
        "ACMPCAStore sqlite:$tmp/auth-store-$n/acmpca.db", "ACMPCAKeyFile $kek",
        ($o{no_credentials} ? () : ("ACMPCACredentialsFile $good")),
        $directives, '';
    close $fh;
    $f;
}

{
    my $r = run_cmd([$httpd, '-t', '-f', conf_for("ACMPCAAuthentication httpd\nACMPCAThrottle * 10 20\nACMPCAThrottle IssueCertificate 0.5")],
                    timeout => 60);
    ok($r->{rc} == 0, 'a good configuration with policies, users and throttles passes apache2 -t')
        or diag($r->{err});
}
for my $case (@bad) {
    my $r = run_cmd([$httpd, '-t', '-f', conf_for($case->[0])], timeout => 60);
    (my $label = $case->[0]) =~ s/\Q$tmp\E/TMP/g;
    isnt($r->{rc}, 0, "configtest fails: $label");
    like("$r->{out}$r->{err}", $case->[1], '... saying why') or diag($r->{err});
}
{
    my $f = conf_for('ACMPCAAuthentication sigv4', no_credentials => 1);
    my $r = run_cmd([$httpd, '-DFOREGROUND', '-f', $f], timeout => 20);
    my $log = -e "$tmp/auth-error-$n.log" ? read_file("$tmp/auth-error-$n.log") : '';
    ok(!$r->{timed_out} && $r->{rc} != 0, 'ACMPCAAuthentication sigv4 without credentials: httpd refuses to start')
        or diag("rc=$r->{rc} timed_out=$r->{timed_out}");
    like("$r->{err}$log", qr/ACMPCA0500: ACMPCAAuthentication sigv4 needs ACMPCACredentialsFile/, '... and says why');
}
