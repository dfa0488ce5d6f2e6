# No secret reaches a log (issue 5, Tests). Numbered to run last (t/api, then t/client),
# so that it sees every line the suite logged: the error and access logs hold no secret
# access key or session token of the test credentials, and no full signature.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use ACMPCA::Auth;

plan tests => 3, need_module('acmpca');

my @secrets;
for my $file (Apache::Test::vars('acmpca_credentials'), auth_credentials_file()) {
    my $c = json_decode(read_file($file)) or next;
    push @secrets, grep { defined && length } map { ($_->{SecretAccessKey}, $_->{SessionToken}) } @{ $c->{Credentials} };
}
ok(@secrets >= 7, scalar(@secrets) . ' secrets to look for');

my $logs = Apache::Test::vars('t_logs');
my $text = join '', map { -e "$logs/$_" ? read_file("$logs/$_") : '' } qw(error_log access_log);
my @found = grep { index($text, $_) >= 0 } @secrets;
is(scalar @found, 0, 'no secret appears in error_log or access_log');
# A signature is exactly 64 hex digits; longer runs (test paths of 'a's) are not one.
# The access log is left out here: its request line is httpd's, and a presigned URL
# carries its signature in the query string by design.
my $errors = -e "$logs/error_log" ? read_file("$logs/error_log") : '';
my $sig = qr/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/;
ok($errors !~ $sig, 'no signature-sized hex string in error_log either')
    or diag(join "\n", grep { defined } ($errors =~ /^.*$sig.*$/mg)[0 .. 2]);
