# ListCertificateAuthorities (PCA-API.md §5.3): pages filled up to MaxResults,
# NextToken only while more remain, creation order stable across pages, every CA
# exactly once, DELETED CAs included, opaque tamper-evident tokens
# (InvalidNextTokenException), ResourceOwner.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Apache::Test qw(-withtestmore);
use ACMPCA::Test;

plan tests => 19, need_module('acmpca');

# Walk every page; returns (\@arns, \@page_sizes, $error_response).
sub walk {
    my($max, %o) = @_;
    my(@arns, @sizes, $token);
    for my $guard (1 .. 500) {
        my($st, $j, $res) = api(ListCertificateAuthorities => {
            ($max ? (MaxResults => $max) : ()), ($token ? (NextToken => $token) : ()), %o });
        return (\@arns, \@sizes, $res) unless $st == 200 && $j;
        my @cas = @{ $j->{CertificateAuthorities} || [] };
        push @sizes, scalar @cas;
        push @arns, map { $_->{Arn} } @cas;
        $token = $j->{NextToken};
        return (\@arns, \@sizes, undef) unless defined $token;
    }
    return (\@arns, \@sizes, undef);
}

my @mine;
for my $i (1 .. 7) {
    my $arn = create_ca(cn => uniq("List $i"));
    push @mine, $arn if $arn;
}
is(scalar @mine, 7, 'seven CAs are created');

my($all, $sizes, $err) = walk(3);
ok(!$err, 'paging with MaxResults 3 runs to the end') or diag($err && $err->content);
my %seen;
$seen{$_}++ for @$all;
ok(@$all && !grep({ $_ > 1 } values %seen), 'no CA appears twice');
is(scalar(grep { $seen{$_} } @mine), 7, 'all seven new CAs are listed');
my @pos = map { my $a = $_; (grep { $all->[$_] eq $a } 0 .. $#$all)[0] // -1 } @mine;
ok(@pos == 7 && !grep({ $_ < 0 } @pos) && "@pos" eq join(' ', sort { $a <=> $b } @pos), 'in creation order');
ok(@$sizes && !grep({ $_ != 3 } @{$sizes}[0 .. $#$sizes - 1]) && $sizes->[-1] >= 1 && $sizes->[-1] <= 3,
    'every page but the last holds exactly MaxResults, the last 1 to MaxResults')
    or diag("page sizes: @$sizes");

my($all100) = walk(100);
ok(@$all && "@$all100" eq "@$all", 'pages of 100 list the same CAs in the same order');
my($all1) = walk(1);
ok(@$all && "@$all1" eq "@$all", 'pages of 1 list the same CAs in the same order');
{
    my($st, $j) = api(ListCertificateAuthorities => {});
    ok($st == 200 && @{ $j->{CertificateAuthorities} || [] } <= 100, 'without MaxResults a page holds at most 100');
}

# A listed record is the Describe record.
{
    my($st, $j) = api(ListCertificateAuthorities => { MaxResults => 1000 });
    my($rec) = grep { $_->{Arn} eq ($mine[0] // '') } @{ ($j || {})->{CertificateAuthorities} || [] };
    my $desc = describe_ca($mine[0] // '');
    ok($rec && $desc && json_encode($rec) eq json_encode($desc), 'a listed CA has the fields Describe gives')
        or diag(json_encode($rec) . "\n" . json_encode($desc));
}

# DELETED CAs are listed while restorable.
{
    api(DeleteCertificateAuthority => { CertificateAuthorityArn => $mine[1] // '', PermanentDeletionTimeInDays => 7 });
    my($st, $j) = api(ListCertificateAuthorities => { MaxResults => 1000 });
    my($rec) = grep { $_->{Arn} eq ($mine[1] // '') } @{ ($j || {})->{CertificateAuthorities} || [] };
    ok($rec && $rec->{Status} eq 'DELETED' && $rec->{RestorableUntil}, 'a DELETED CA is listed, with RestorableUntil');
}

# Tokens.
{
    my($st, $j) = api(ListCertificateAuthorities => { MaxResults => 2 });
    my $tok = ($j || {})->{NextToken} // '';
    ok(length $tok, 'a first page of 2 has a NextToken');
    like($tok, qr/^[A-Za-z0-9+\/=_-]+$/, 'the token is opaque text');
    my $tampered = $tok;
    my $i = int(length($tok) / 2);
    substr($tampered, $i, 1) = substr($tok, $i, 1) eq 'A' ? 'B' : 'A';
    my(undef, undef, $res) = api(ListCertificateAuthorities => { MaxResults => 2, NextToken => $tampered });
    is_aws_error($res, 400, 'InvalidNextTokenException', undef, 'a tampered NextToken -> InvalidNextTokenException');
    (undef, undef, $res) = api(ListCertificateAuthorities => { MaxResults => 2, NextToken => 'bm90IGEgdG9rZW4=' });
    is_aws_error($res, 400, 'InvalidNextTokenException', undef, 'a made-up NextToken -> InvalidNextTokenException');
    (undef, undef, $res) = api(ListCertificateAuthorities => { MaxResults => 2, NextToken => $tok . 'x' });
    is_aws_error($res, 400, 'InvalidNextTokenException', undef, 'a NextToken with a byte appended -> InvalidNextTokenException');

    # A ListTags token is not a ListCertificateAuthorities token.
    my $ca = create_ca(extra => { Tags => [map { { Key => "k$_", Value => 'v' } } 1 .. 3] });
    ($st, $j) = api(ListTags => { CertificateAuthorityArn => $ca // '', MaxResults => 1 });
    my $ttok = ($j || {})->{NextToken};
    (undef, undef, $res) = api(ListCertificateAuthorities => { NextToken => $ttok // 'missing' });
    is_aws_error($res, 400, 'InvalidNextTokenException', undef, 'a ListTags token -> InvalidNextTokenException');
    ok(defined $ttok, '... (ListTags gave a token)');
}

# ResourceOwner OTHER_ACCOUNTS: nothing is shared through RAM here.
{
    my($st, $j, $res) = api(ListCertificateAuthorities => { ResourceOwner => 'OTHER_ACCOUNTS' });
    ok($st == 200 && ref $j->{CertificateAuthorities} eq 'ARRAY' && !@{ $j->{CertificateAuthorities} },
        'ResourceOwner OTHER_ACCOUNTS lists nothing') or diag($res->content);
}
