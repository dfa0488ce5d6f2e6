# Directives are validated at config time: a bad value makes `apache2 -t` fail
# with a message naming the directive and the value, and creates no file (issue 2,
# Build 5). Each case runs a separate httpd binary on a minimal config of its own;
# the test server is not involved.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use File::Spec::Functions qw(catfile);
use IO::Socket::INET;

my @bad = (
    # [ directive line(s), directive named, value named, extra pattern ]
    ['ACMPCAStore nosuch:/x/acmpca.db',   'ACMPCAStore', 'nosuch', qr/sqlite/],
    ['ACMPCAStore sqlite:',               'ACMPCAStore', 'sqlite:', undef],
    ['ACMPCAStore /no/scheme.db',         'ACMPCAStore', '/no/scheme.db', qr/sqlite/],
    ['ACMPCAAccountId 12345',             'ACMPCAAccountId', '12345', qr/12/],
    ['ACMPCAAccountId 12345678901x',      'ACMPCAAccountId', '12345678901x', undef],
    ['ACMPCARegion Us_East!1',            'ACMPCARegion', 'Us_East!1', undef],
    ['ACMPCAPublicURL ftp://ca.example',  'ACMPCAPublicURL', 'ftp://ca.example', qr/http/],
    ['ACMPCAPublicURL ca.example.com',    'ACMPCAPublicURL', 'ca.example.com', qr/http/],
    ['ACMPCAMaxBodySize lots',            'ACMPCAMaxBodySize', 'lots', undef],
    ['ACMPCAMaxBodySize -5',              'ACMPCAMaxBodySize', '-5', undef],
    ['ACMPCAMaxCertificateAuthorities 0', 'ACMPCAMaxCertificateAuthorities', '0', undef],
    ['ACMPCAMaxCertificateAuthorities x', 'ACMPCAMaxCertificateAuthorities', 'x', undef],
    ['ACMPCAMaxCertificatesPerCA 0',      'ACMPCAMaxCertificatesPerCA', '0', qr/1 to 1000000000/],
    ['ACMPCAMaxCertificatesPerCA 1e9',    'ACMPCAMaxCertificatesPerCA', '1e9', undef],
    ['ACMPCAKeyFile @TMP@/missing.kek',   'ACMPCAKeyFile', 'missing.kek', undef],
    ['ACMPCAKeyFile @TMP@/short.kek',     'ACMPCAKeyFile', 'short.kek', qr/32/],
    ['ACMPCAKeyFile @TMP@/long.kek',      'ACMPCAKeyFile', 'long.kek', qr/32/],
    ['ACMPCACredentialsFile @TMP@/bad-creds.json', 'ACMPCACredentialsFile', 'bad-creds.json', undef],
    ['ACMPCACredentialsFile @TMP@/creds-no-account.json', 'ACMPCACredentialsFile', 'creds-no-account.json', undef],
    ["<Location />\n    ACMPCAStore sqlite:\@TMP\@/loc.db\n</Location>", 'ACMPCAStore', undef, qr/not allowed/],
    # The directives added since (issue 8, Build 4: each kind of bad config).
    ['ACMPCAStore redis://127.0.0.1:notaport', 'ACMPCAStore', 'notaport', qr/port/],
    ['ACMPCAStore redis://',              'ACMPCAStore', 'redis://', qr/host/],
    ['ACMPCAStore unix:',                 'ACMPCAStore', 'unix:', undef],
    ['ACMPCAStore redis-sentinel://127.0.0.1:26379', 'ACMPCAStore', 'redis-sentinel://127.0.0.1:26379', qr/master name/],
    ['ACMPCAAuthentication kerberos',     'ACMPCAAuthentication', 'kerberos', qr/sigv4/],
    ['ACMPCAThrottle NoSuchOp 1 2',       'ACMPCAThrottle', 'NoSuchOp', qr/IssueCertificate/],
    ['ACMPCAThrottle IssueCertificate 0', 'ACMPCAThrottle', '0', qr/per second/],
    ['ACMPCAThrottle IssueCertificate 5 0.5', 'ACMPCAThrottle', '0.5', qr/burst/],
    ['ACMPCACrlRefreshInterval 0',        'ACMPCACrlRefreshInterval', '0', qr/86400/],
    ["<VirtualHost 127.0.0.1:9>\n    ACMPCACrlRefreshInterval 5\n</VirtualHost>", 'ACMPCACrlRefreshInterval', undef, qr/VirtualHost/],
    ['ACMPCACrlSyncEntries 0',            'ACMPCACrlSyncEntries', '0', qr/unlimited/],
    ['ACMPCACrlSyncEntries many',         'ACMPCACrlSyncEntries', 'many', qr/1 to 100000000/],
    ["<VirtualHost 127.0.0.1:9>\n    ACMPCACrlSyncEntries 5\n</VirtualHost>", 'ACMPCACrlSyncEntries', undef, qr/VirtualHost/],
    ['ACMPCACrlSyncTime -1',              'ACMPCACrlSyncTime', '-1', qr/0 to 60000/],
    ['ACMPCACrlSyncTime 20ms',            'ACMPCACrlSyncTime', '20ms', qr/milliseconds/],
    ['ACMPCAAuditReportInterval -1',      'ACMPCAAuditReportInterval', '-1', qr/604800/],
    ['ACMPCAAuditReportInterval 1w',      'ACMPCAAuditReportInterval', '1w', undef],
    ['ACMPCAPublicRepository nonsense=1', 'ACMPCAPublicRepository', 'nonsense=1', qr/tag:/],
    ['ACMPCAPublicRepository tag:',       'ACMPCAPublicRepository', 'tag:', undef],
    ['ACMPCAMetrics maybe',               'ACMPCAMetrics', undef, qr/On or Off/],
);

plan tests => 3 * @bad + 7, need_module('acmpca');

my $so    = Apache::Test::vars('acmpca_module');
my $httpd = Apache::Test::vars('httpd');
my $moddir = Apache::Test::config()->apxs('LIBEXECDIR');
my $tmp   = tmpdir();
my $store = catfile $tmp, 'store';    # must never appear

# Key files and credentials of the cases.
sub put { my($n, $c) = @_; my $p = catfile $tmp, $n; open my $fh, '>:raw', $p or die $!; print $fh $c; close $fh; chmod 0600, $p; $p }
my $kek = put('good.kek', join '', map { chr int rand 256 } 1 .. 32);
put('short.kek', 'x' x 31);
put('long.kek', 'x' x 33);
put('bad-creds.json', '{"Credentials": [');
put('creds-no-account.json', '{"Credentials":[{"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"s"}]}');
my $good_creds = put('good-creds.json', '{"Credentials":[{"AccessKeyId":"AKIAEXAMPLE2222222222","SecretAccessKey":"secret",'
    . '"AccountId":"123456789012","Principal":"arn:aws:iam::123456789012:user/admin"}]}');

sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1, ReuseAddr => 1) or die $!;
    my $p = $s->sockport;
    close $s;
    $p;
}

my $n = 0;
sub conf_for {
    my($directives, %o) = @_;
    $directives =~ s/\@TMP\@/$tmp/g;
    my $port = free_port();
    ++$n;
    my $lines = join "\n",
        "ServerRoot $tmp",
        "ServerName 127.0.0.1",
        "LoadModule mpm_event_module $moddir/mod_mpm_event.so",
        "LoadModule authz_core_module $moddir/mod_authz_core.so",
        "LoadModule acmpca_module $so",
        "Listen 127.0.0.1:$port",
        "PidFile $tmp/httpd-$n.pid",
        "ErrorLog $tmp/error-$n.log",
        "DefaultRuntimeDir $tmp",
        ($> == 0 ? ('User www-data', 'Group www-data') : ()),
        ($o{no_defaults} ? () : (
            "ACMPCAStore sqlite:$store/acmpca.db",
            "ACMPCAKeyFile $kek",
            "ACMPCACredentialsFile $good_creds",
        )),
        $directives, '';
    my $f = catfile $tmp, "httpd-$n.conf";
    open my $fh, '>', $f or die $!;
    print $fh $lines;
    close $fh;
    $f;
}

sub configtest { my $f = shift; run_cmd([$httpd, '-t', '-f', $f], timeout => 60) }

# A good configuration passes; the module does not create the store at -t.
{
    my $r = configtest(conf_for(''));
    ok($r->{rc} == 0 && $r->{err} =~ /Syntax OK/, 'a good configuration passes apache2 -t')
        or diag("rc=$r->{rc} $r->{err}");
}

for my $case (@bad) {
    my($lines, $dir, $value, $re) = @$case;
    (my $label = $lines) =~ s/\s+/ /g;
    $label =~ s/\Q$tmp\E/TMP/g;
    my $r = configtest(conf_for($lines));
    my $text = "$r->{out}$r->{err}";
    isnt($r->{rc}, 0, "configtest fails: $label");
    my $named = $text =~ /\Q$dir\E/ && (!defined $value || $text =~ /\Q$value\E/) && (!$re || $text =~ $re);
    ok($named, "... the message names $dir" . (defined $value ? " and '$value'" : '') . ($re ? " ($re)" : ''))
        or diag($text);
    ok(!-e $store, '... and no store file was created') or system('rm', '-rf', $store);
}

# ACMPCAStore without ACMPCAKeyFile: refused at the latest when httpd starts. The
# server runs in the foreground, bounded: one that starts anyway is killed at the
# deadline and the test fails.
{
    my $f = conf_for("ACMPCAStore sqlite:$store/acmpca.db", no_defaults => 1);
    my $r = run_cmd([$httpd, '-DFOREGROUND', '-f', $f], timeout => 20);
    my $log = -e "$tmp/error-$n.log" ? read_file("$tmp/error-$n.log") : '';
    ok(!$r->{timed_out} && $r->{rc} != 0, 'ACMPCAStore without ACMPCAKeyFile: httpd refuses to start')
        or diag("rc=$r->{rc} timed_out=$r->{timed_out}");
    like("$r->{err}$log", qr/ACMPCAKeyFile/, '... naming ACMPCAKeyFile');
    ok(!-e $store, '... and no store file was created') or system('rm', '-rf', $store);
}

# A store that cannot be created is refused when httpd starts (configtest does not open
# stores), naming ACMPCAStore, and leaves nothing behind (issue 8).
{
    # Under a regular file: no mkdir can succeed there, not even root's.
    my $bad = catfile $tmp, 'notadir', 'sub', 'acmpca.db';
    put('notadir', 'a file');
    my $f = conf_for("ACMPCAStore sqlite:$bad\nACMPCAKeyFile $kek", no_defaults => 1);
    my $r = run_cmd([$httpd, '-DFOREGROUND', '-f', $f], timeout => 20);
    my $log = -e "$tmp/error-$n.log" ? read_file("$tmp/error-$n.log") : '';
    ok(!$r->{timed_out} && $r->{rc} != 0, 'an ACMPCAStore that cannot be created: httpd refuses to start')
        or diag("rc=$r->{rc} timed_out=$r->{timed_out}");
    like("$r->{err}$log", qr/ACMPCAStore.*\Q$bad\E|\Q$bad\E.*ACMPCAStore/, '... naming ACMPCAStore and the path');
    ok(-f catfile($tmp, 'notadir') && -s _ == 6 && !-e $bad, '... and no file or directory was created');
}
