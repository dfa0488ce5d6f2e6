# A graceful restart picks up a changed credentials file (issue 5, Build 2): the
# file is read while the configuration is read, which every restart does again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;
use Time::HiRes ();

plan tests => 4, need_module('acmpca');

my $file = Apache::Test::vars('acmpca_credentials');
my $orig = read_file($file);
my $new = { AccessKeyId => 'AKIDACMPCARELOAD0001', SecretAccessKey => 'reload/test/secret/' . $$ . '/0123456789abcdef',
            AccountId => '555555555555' };

sub list_with { my(undef, undef, $res) = api('ListCertificateAuthorities', {}, -credentials => $_[0]); $res }

sub write_creds {
    my $text = shift;
    open my $fh, '>', "$file.new" or die "$file.new: $!";
    print $fh $text;
    close $fh or die $!;
    chmod 0600, "$file.new";
    rename "$file.new", $file or die "rename: $!";
}

# Graceful restart (SIGUSR1); wait until the answer for $creds is $want.
sub graceful_until {
    my($creds, $want) = @_;
    my $pid = Apache::Test::config()->server->pid or return 0;
    kill 'USR1', $pid or return 0;
    my $deadline = time + 30;
    while (time < $deadline) {
        my $res = eval { list_with($creds) };
        return 1 if $res && $res->code == $want;
        Time::HiRes::sleep(0.2);
    }
    return 0;
}

is_aws_error(list_with($new), 400, 'UnrecognizedClientException', undef, 'a key not yet in the file is unknown');
my $data = json_decode($orig);
push @{ $data->{Credentials} }, $new;
write_creds(json_encode($data));
ok(graceful_until($new, 200), 'after a graceful restart the new key is accepted');
write_creds($orig);
ok(graceful_until($new, 400), 'after the key is removed and another graceful restart, it is refused');
is_api_ok(list_with(credentials()), 'the original key works throughout');
